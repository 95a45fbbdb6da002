import { execFileSync } from 'node:child_process';

/** The path of the system's redis-server, or null when it is not installed. */
export function findRedisServer(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export const REDIS_INSTALL_HINT = [
  'redis-server is not installed. Install it, then run this again:',
  '  Debian/Ubuntu:  sudo apt-get install redis-server',
  '  macOS:          brew install redis',
].join('\n');

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A throwaway redis-server for tests and benchmarks: its own free port and temporary directory,
// no persistence, and it can be stopped and started again on the same port to test recovery.

export const REDIS_MISSING =
  'redis-server is not installed; the tests run against a real one. Install it with ' +
  '`sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS).';

export class RedisServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly killOnExit = () => this.child?.kill('SIGKILL');

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly binary: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on a free port, trying another port if one was taken meanwhile. */
  static async start(): Promise<RedisServer> {
    const binary = findBinary();
    const dir = mkdtempSync(join(tmpdir(), 'ping-agent-redis-'));
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new RedisServer(await freePort(), dir, binary);
      try {
        await server.startAgain();
        return server;
      } catch (error) {
        lastError = error;
        await server.stop();
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }

  /** (Re)starts redis-server on this server's port and directory and waits until it answers. */
  async startAgain(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      this.binary,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--logfile',
        '',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    process.once('exit', this.killOnExit);
    const died = this.exited.then(() => {
      throw new Error(`redis-server on port ${this.port} exited at start: ${stderr.trim() || 'no output'}`);
    });
    await Promise.race([waitForPong(this.port, 10_000), died]);
  }

  /** Stops redis-server at once (SIGKILL, like a crash) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    process.off('exit', this.killOnExit);
    child.kill('SIGKILL');
    await this.exited;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function findBinary(): string {
  try {
    const path = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    if (path) return path;
  } catch {
    // falls through to the error below
  }
  throw new Error(REDIS_MISSING);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls with a raw PING until redis answers +PONG, or fails after `timeoutMs`. */
async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pingOnce(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk;
      if (answer.includes('\r\n')) socket.end();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer.startsWith('+PONG')));
  });
}

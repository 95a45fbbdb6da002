import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopProcessGroup } from '../support/process-group.ts';
import { freePort } from '../support/redis-server.ts';

// Runs the API (or another worker file) on `wrangler dev`, the real Workers runtime, for the
// end-to-end tests and the benchmark. Free ports are picked for both the server and the
// inspector, so several can run at once; metrics are off and nothing leaves the host.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRANGLER = `${ROOT}node_modules/.bin/wrangler`;

export interface WranglerDev {
  url: string;
  /** wrangler's process id; workerd runs as its descendant. */
  pid: number;
  /** Everything wrangler printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface WranglerDevOptions {
  vars: Record<string, string>;
  /** A worker file to run instead of wrangler.toml's `main` (the benchmark's bare route). */
  script?: string;
  readyPath?: string;
  timeoutMs?: number;
  /** Expose the scheduled handler on GET /__scheduled (wrangler's --test-scheduled). */
  testScheduled?: boolean;
}

export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const port = await freePort();
  const inspector = await freePort();
  const args = [
    'dev',
    ...(options.script
      ? [options.script, '--name', 'ping-agent-bench', '--compatibility-date', '2026-04-20']
      : []),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspector),
    '--show-interactive-dev-session=false',
    '--log-level',
    'warn',
    ...(options.testScheduled ? ['--test-scheduled'] : []),
    ...Object.entries(options.vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  const child: ChildProcess = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so workerd (a grandchild) stops with it.
    detached: true,
  });
  let log = '';
  child.stdout?.on('data', (d) => {
    log += d;
  });
  child.stderr?.on('data', (d) => {
    log += d;
  });
  let exited = false;
  const done = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) await stopProcessGroup(child.pid!, done);
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited before it was ready:\n${log}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev was not ready within ${options.timeoutMs ?? 60_000} ms:\n${log}`);
    }
    try {
      const res = await fetch(`${url}${options.readyPath ?? '/v1/health'}`, {
        signal: AbortSignal.timeout(2_000),
      });
      await res.arrayBuffer();
      if (res.status < 500) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, pid: child.pid!, output: () => log, stop };
}

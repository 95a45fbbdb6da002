import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

// The local stack's processes: each child's output is prefixed with its name, and stopping the
// stack stops every child (politely first, then for good), whatever state it is in.

export interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<number | null>;
}

const COLORS = [36, 35, 33, 32, 34];

export class ChildSet {
  private readonly children: Child[] = [];
  private stopping = false;
  onUnexpectedExit: (child: Child, code: number | null) => void = () => {};

  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
    const proc = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const color = COLORS[this.children.length % COLORS.length];
    const tag = process.stdout.isTTY ? `\x1b[${color}m${name.padEnd(8)}\x1b[0m` : name.padEnd(8);
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        process.stdout.write(`${tag} | ${line}\n`);
      });
    }
    const exited = new Promise<number | null>((resolve) => {
      proc.on('error', (error) => {
        process.stdout.write(`${tag} | could not start ${command}: ${error.message}\n`);
        resolve(127);
      });
      proc.on('exit', (code) => resolve(code));
    });
    const child = { name, process: proc, exited };
    void exited.then((code) => {
      if (!this.stopping) this.onUnexpectedExit(child, code);
    });
    this.children.push(child);
    return child;
  }

  /** Stops children in reverse start order: the agent flushes to Redis before Redis goes. */
  async stopAll(graceMs = 8_000): Promise<void> {
    this.stopping = true;
    for (const child of [...this.children].reverse()) {
      if (child.process.exitCode !== null || child.process.signalCode !== null) continue;
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
      await child.exited;
      clearTimeout(timer);
    }
  }
}

function signalGroup(child: Child, signal: NodeJS.Signals): void {
  // Children run in their own process group, so wrangler's workerd and other grandchildren stop too.
  try {
    process.kill(-child.process.pid!, signal);
  } catch {
    child.process.kill(signal);
  }
}

/** Polls `check` until it resolves true, or fails with a message naming what never came up. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} did not come up within ${Math.round(timeoutMs / 1000)} s (its output is above)`);
}

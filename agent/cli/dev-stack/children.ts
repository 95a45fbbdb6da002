import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
      // wrangler starts workerd in a process group of its own: note every descendant now, so
      // that none outlives the stack when its parent is gone.
      const family = descendants(child.process.pid!);
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
      await child.exited;
      clearTimeout(timer);
      for (const pid of family) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
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

/** Every process below `root`, from /proc (empty where there is no /proc). */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // The command name may contain spaces and parentheses; the fields after its last ')' do not.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        parentOf.set(Number(entry), ppid);
      } catch {
        // the process ended while we looked
      }
    }
  } catch {
    return [];
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.pop()!;
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
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

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Runs `node bin/ping-agent.js run` as a child process, the way systemd would, and reads its JSON
// log lines, so tests and the benchmark see the agent exactly as deployed.

const CLI = fileURLToPath(new URL('../../../bin/ping-agent.js', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export class AgentProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  private readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  private constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let cut = buffered.indexOf('\n');
      while (cut >= 0) {
        const text = buffered.slice(0, cut);
        buffered = buffered.slice(cut + 1);
        try {
          this.lines.push(JSON.parse(text) as LogLine);
        } catch {
          this.lines.push({ level: 0, msg: text });
        }
        cut = buffered.indexOf('\n');
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.exited.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** `command` replaces `node bin/ping-agent.js` (the sources), e.g. with the built dist/ping-agent.js. */
  static start(env: Record<string, string>, command: string[] = [process.execPath, CLI]): AgentProcess {
    const [file, ...args] = command;
    const child = spawn(file!, [...args, 'run'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new AgentProcess(child);
  }

  /** Log lines of job runs, optionally of one job. */
  runs(job?: string): LogLine[] {
    return this.lines.filter((l) => l.msg === 'job run' && (job === undefined || l.job === job));
  }

  /** Waits until a predicate over the log holds; throws with the log tail on timeout or exit. */
  async waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    this.exited.then(() => {
      exited = true;
    });
    while (!predicate()) {
      if (exited || Date.now() > deadline) {
        const tail = this.lines
          .slice(-15)
          .map((l) => JSON.stringify(l))
          .join('\n');
        throw new Error(
          `agent: ${exited ? 'exited' : 'timed out'} waiting for ${what}\n${tail}\n${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    timeoutMs = 10_000,
  ): Promise<{ code: number | null; ms: number }> {
    const started = Date.now();
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return { code, ms: Date.now() - started };
  }

  wait(): Promise<number | null> {
    return this.exited;
  }
}

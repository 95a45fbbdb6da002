import { isTransientReply } from '../../shared/redis-requester.ts';
import type { RedisClient } from '../../shared/store/context.ts';
import { queueResultCommand, type ResultCommand, resultCommandBytes } from '../../shared/store/results.ts';
import { Backoff, sleep } from './backoff.ts';
import type { Logger } from './logger.ts';
import { isRetryable } from './redis-client.ts';
import type { Spool } from './spool.ts';

// Sends result commands to Redis in pipelines of at most 1,000 commands and well under 1 MB. When
// a request fails for a reason that may pass (no answer, 5xx, 429), that batch and everything after
// it goes to the spool, and a drain loop replays the spool oldest first, backing off with jitter,
// until it is empty. While anything is spooled, new batches are spooled behind it: a status is a
// whole value, so it must never be overtaken by an older one. A refusal (4xx) is not retried, nor
// is a command Redis rejects inside a pipeline that otherwise went through.

export const MAX_COMMANDS_PER_REQUEST = 1_000;
export const MAX_BYTES_PER_REQUEST = 900 * 1024;

export function splitBatches(commands: readonly ResultCommand[]): ResultCommand[][] {
  const out: ResultCommand[][] = [];
  let current: ResultCommand[] = [];
  let bytes = 0;
  for (const command of commands) {
    const size = resultCommandBytes(command);
    if (
      current.length > 0 &&
      (current.length >= MAX_COMMANDS_PER_REQUEST || bytes + size > MAX_BYTES_PER_REQUEST)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(command);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

export interface WriterStats {
  written: number;
  writeFailures: number;
  refused: number;
}

export class ResultWriter {
  private chain: Promise<void> = Promise.resolve();
  private draining: Promise<void> | null = null;
  private readonly backoff = new Backoff({ baseMs: 500, capMs: 30_000 });
  private readonly stopping = new AbortController();
  private failing = false;
  readonly stats: WriterStats = { written: 0, writeFailures: 0, refused: 0 };

  constructor(
    private readonly redis: RedisClient,
    private readonly spool: Spool,
    private readonly log: Logger,
  ) {}

  /** Queues a run's commands; resolves once they are in Redis or in the spool. Writes keep their order. */
  write(commands: readonly ResultCommand[]): Promise<void> {
    if (commands.length === 0) return this.chain;
    const next = this.chain.then(() => this.writeNow(commands));
    this.chain = next.catch(() => {});
    return next;
  }

  private async writeNow(commands: readonly ResultCommand[]): Promise<void> {
    const batches = splitBatches(commands);
    for (let i = 0; i < batches.length; i++) {
      if (!this.spool.isEmpty) {
        await this.spoolAll(batches.slice(i));
        return;
      }
      const outcome = await this.send(batches[i]!);
      if (outcome === 'retry') {
        await this.spoolAll(batches.slice(i));
        return;
      }
    }
  }

  private async spoolAll(batches: ResultCommand[][]): Promise<void> {
    try {
      // Throws when a batch could not be spooled (a full disk): the caller's run fails and says so.
      await this.spool.appendAll(batches);
    } finally {
      // Even then: what is already spooled must not wait for the next successful append.
      this.startDrain();
    }
  }

  /** 'done' when written (or refused for good), 'retry' when it may work later. */
  private async send(batch: ResultCommand[]): Promise<'done' | 'retry'> {
    try {
      const pipeline = this.redis.pipeline();
      for (const command of batch) queueResultCommand(pipeline, command);
      // Per-command errors come back beside the results instead of failing the whole request: the
      // other commands were applied, and Redis will refuse the same command every time (a key of
      // the wrong type, written by hand), so retrying the batch would only block every later one.
      const replies = await pipeline.exec({ keepErrors: true });
      const errors = replies.flatMap((reply, i) => (reply.error ? [{ i, error: reply.error }] : []));
      if (errors.some((e) => isTransientReply(e.error))) return this.retry(errors[0]!.error, batch.length);
      this.backoff.reset();
      this.failing = false;
      this.stats.written += batch.length - errors.length;
      if (errors.length > 0) {
        this.stats.refused += errors.length;
        const first = batch[errors[0]!.i]!;
        this.log.error(
          {
            err: errors[0]!.error,
            op: first.op,
            key: 'key' in first ? first.key : first.op === 'mset' ? first.entries[0]?.[0] : first.keys[0],
            refused: errors.length,
            commands: batch.length,
          },
          'Redis REFUSED result commands; not retrying them (check that key is not used by something else)',
        );
      }
      return 'done';
    } catch (error) {
      if (isRetryable(error)) return this.retry((error as Error).message, batch.length);
      this.stats.writeFailures += 1;
      this.stats.refused += batch.length;
      this.log.error(
        { err: (error as Error).message, commands: batch.length },
        'Redis REFUSED a result write; not retrying it (check the token and the URL)',
      );
      return 'done';
    }
  }

  private retry(err: string, commands: number): 'retry' {
    this.stats.writeFailures += 1;
    this.failing = true;
    this.log.warn({ err, commands }, 'result write failed; spooling');
    return 'retry';
  }

  private startDrain(): void {
    this.draining ??= this.drainLoop().finally(() => {
      this.draining = null;
    });
  }

  private async drainLoop(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const next = await this.chained(() => this.replayOne());
      if (next === 'empty') return;
      if (next === 'retry' && !(await sleep(this.backoff.next(), this.stopping.signal))) return;
    }
  }

  /** Runs spool work inside the write chain, so a replay and a new write never interleave. */
  private chained<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work);
    this.chain = next.then(
      () => {},
      () => {},
    );
    return next;
  }

  private async replayOne(): Promise<'empty' | 'done' | 'retry'> {
    const oldest = await this.spool.peek();
    if (!oldest) return 'empty';
    const outcome = await this.send(oldest.commands);
    if (outcome === 'done') {
      await this.spool.remove(oldest.seq);
      if (this.spool.isEmpty) this.log.info('spool replayed; results are live again');
    }
    return outcome;
  }

  /** Replays the spool until it is empty or one try fails (used at start and at stop). */
  async drainOnce(): Promise<boolean> {
    for (;;) {
      const outcome = await this.chained(() => this.replayOne());
      if (outcome === 'empty') return true;
      if (outcome === 'retry') {
        this.startDrain();
        return false;
      }
    }
  }

  /**
   * Waits for queued writes and stops the background replay. One last replay is tried only when
   * Redis answered the last request: at a stop during an outage, the spool stays on disk for the
   * next start instead of holding the stop for another timeout.
   */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.chain;
    await this.draining;
    if (!this.spool.isEmpty && !this.failing) await this.drainOnce().catch(() => false);
  }

  get pendingSpool(): boolean {
    return !this.spool.isEmpty;
  }
}

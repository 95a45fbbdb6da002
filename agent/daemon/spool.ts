import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseResultBatch, type ResultCommand } from '../../shared/store/results.ts';
import type { Logger } from './logger.ts';

// Results that could not be written wait here, one file per batch, named by a sequence number so
// they replay in the order they were made. The spool is bounded: past its byte budget the oldest
// batches go first, and each one dropped is counted. Dropping old batches loses little: every
// status is a whole cumulative value, so the next batch that gets through restores the counts;
// only the history buckets of the dropped batch are gone.
//
// The disk is not ours alone: the directory may be removed under a running agent (systemd-tmpfiles
// cleaning /tmp, an operator), the disk may fill, and a file may hold anything. So a missing
// directory is made again, a batch that cannot be written is counted as dropped and leaves no
// partial file, and a file that cannot be a batch is renamed aside (`*.bad`) instead of being
// retried for ever in front of every later batch.

const BATCH_FILE = /^[0-9]{12}\.json$/;
const PARTIAL_FILE = /^[0-9]{12}\.json\.tmp$/;

interface Entry {
  seq: number;
  bytes: number;
}

export interface SpoolStats {
  batches: number;
  bytes: number;
  /** Batches lost: dropped past the budget, or that could not be written or read back. */
  droppedBatches: number;
  /** Files that could never be a valid batch, renamed to `*.bad`. */
  badBatches: number;
}

export class Spool {
  private entries: Entry[] = [];
  private totalBytes = 0;
  private dropped = 0;
  private bad = 0;
  private nextSeq = 1;

  private constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly log: Logger | undefined,
  ) {}

  /** Opens (creating) the directory and indexes what a previous run left behind. */
  static async open(dir: string, maxBytes: number, log?: Logger): Promise<Spool> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const spool = new Spool(dir, maxBytes, log);
    const names = await readdir(dir);
    // Left by a crash or a full disk mid-write; the batch itself never made it.
    for (const name of names.filter((n) => PARTIAL_FILE.test(n))) {
      await unlink(join(dir, name)).catch(() => {});
    }
    for (const name of names.filter((n) => BATCH_FILE.test(n)).sort()) {
      const { size } = await stat(join(dir, name));
      spool.entries.push({ seq: Number(name.slice(0, 12)), bytes: size });
      spool.totalBytes += size;
    }
    spool.nextSeq = (spool.entries.at(-1)?.seq ?? 0) + 1;
    return spool;
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  stats(): SpoolStats {
    return {
      batches: this.entries.length,
      bytes: this.totalBytes,
      droppedBatches: this.dropped,
      badBatches: this.bad,
    };
  }

  /**
   * Writes batches in order. Each one that cannot be written is counted as dropped and the others
   * are still tried; then this throws, saying how many results were lost.
   */
  async appendAll(batches: readonly (readonly ResultCommand[])[]): Promise<void> {
    let lostBatches = 0;
    let lostCommands = 0;
    let firstError: unknown;
    for (const batch of batches) {
      try {
        await this.append(batch);
      } catch (error) {
        lostBatches += 1;
        lostCommands += batch.length;
        firstError ??= error;
      }
    }
    if (lostBatches > 0) {
      throw new Error(
        `cannot spool ${lostBatches} of ${batches.length} result batches (${lostCommands} commands lost): ${(firstError as Error).message}`,
        { cause: firstError },
      );
    }
  }

  /** Writes one batch; when that fails the batch is counted as dropped and the error thrown. */
  async append(commands: readonly ResultCommand[]): Promise<void> {
    if (commands.length === 0) return;
    const body = JSON.stringify(commands);
    const seq = this.nextSeq++;
    const bytes = Buffer.byteLength(body);
    try {
      await this.writeWhole(this.fileOf(seq), body);
    } catch (error) {
      this.dropped += 1;
      throw error;
    }
    this.entries.push({ seq, bytes });
    this.totalBytes += bytes;
    while (this.totalBytes > this.maxBytes && this.entries.length > 1) await this.dropOldest();
  }

  /** Write then rename, so a crash mid-write never leaves a half batch to replay. */
  private async writeWhole(file: string, body: string): Promise<void> {
    const partial = `${file}.tmp`;
    for (let attempt = 1; ; attempt++) {
      try {
        await writeFile(partial, body, { mode: 0o600 });
        await rename(partial, file);
        return;
      } catch (error) {
        // A full disk leaves a truncated file behind; it must not stay and fill the disk further.
        await unlink(partial).catch(() => {});
        if (attempt > 1 || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        // The directory was removed under us: make it again. Batches it held are gone; peek()
        // counts each one as it finds it missing.
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        this.log?.warn({ dir: this.dir }, 'the spool directory had been removed; made it again');
      }
    }
  }

  /**
   * The oldest batch, or null when the spool is empty. A batch that cannot be read is counted as
   * dropped; one that is not a valid batch is renamed to `*.bad` and counted; either way the next
   * one is tried.
   */
  async peek(): Promise<{ seq: number; commands: ResultCommand[] } | null> {
    while (this.entries.length > 0) {
      const { seq } = this.entries[0]!;
      const file = this.fileOf(seq);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        this.log?.error({ file, err: (error as Error).message }, 'spooled results cannot be read; lost');
        await this.dropOldest();
        continue;
      }
      try {
        return { seq, commands: parseResultBatch(JSON.parse(text)) };
      } catch (error) {
        await this.setAside(file, (error as Error).message);
      }
    }
    return null;
  }

  /** Forgets the oldest batch once it is written. */
  async remove(seq: number): Promise<void> {
    const index = this.entries.findIndex((e) => e.seq === seq);
    if (index < 0) return;
    const [entry] = this.entries.splice(index, 1);
    this.totalBytes -= entry!.bytes;
    await unlink(this.fileOf(seq)).catch(() => {});
  }

  private async setAside(file: string, problem: string): Promise<void> {
    const entry = this.entries.shift()!;
    this.totalBytes -= entry.bytes;
    this.bad += 1;
    const aside = `${file}.bad`;
    const renamed = await rename(file, aside).then(
      () => true,
      () => false,
    );
    if (!renamed) await unlink(file).catch(() => {});
    this.log?.error(
      { file: renamed ? aside : file, problem },
      renamed
        ? 'a spool file is not a valid result batch; renamed aside, not replayed'
        : 'a spool file is not a valid result batch; removed, not replayed',
    );
  }

  private async dropOldest(): Promise<void> {
    const entry = this.entries.shift();
    if (!entry) return;
    this.totalBytes -= entry.bytes;
    this.dropped += 1;
    await unlink(this.fileOf(entry.seq)).catch(() => {});
  }

  private fileOf(seq: number): string {
    return join(this.dir, `${String(seq).padStart(12, '0')}.json`);
  }
}

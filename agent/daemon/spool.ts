import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultCommand } from '../../shared/store/results.ts';

// Results that could not be written wait here, one file per batch, named by a sequence number so
// they replay in the order they were made. The spool is bounded: past its byte budget the oldest
// batches go first, and each one dropped is counted. Dropping old batches loses little: every
// status is a whole cumulative value, so the next batch that gets through restores the counts;
// only the history buckets of the dropped batch are gone.

interface Entry {
  seq: number;
  bytes: number;
}

export interface SpoolStats {
  batches: number;
  bytes: number;
  droppedBatches: number;
}

export class Spool {
  private entries: Entry[] = [];
  private totalBytes = 0;
  private dropped = 0;
  private nextSeq = 1;

  private constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /** Opens (creating) the directory and indexes what a previous run left behind. */
  static async open(dir: string, maxBytes: number): Promise<Spool> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const spool = new Spool(dir, maxBytes);
    const names = (await readdir(dir)).filter((n) => /^[0-9]{12}\.json$/.test(n)).sort();
    for (const name of names) {
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
    return { batches: this.entries.length, bytes: this.totalBytes, droppedBatches: this.dropped };
  }

  async append(commands: readonly ResultCommand[]): Promise<void> {
    if (commands.length === 0) return;
    const body = JSON.stringify(commands);
    const seq = this.nextSeq++;
    const bytes = Buffer.byteLength(body);
    // Write then rename, so a crash mid-write never leaves a half batch to replay.
    const file = this.fileOf(seq);
    await writeFile(`${file}.tmp`, body, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
    this.entries.push({ seq, bytes });
    this.totalBytes += bytes;
    while (this.totalBytes > this.maxBytes && this.entries.length > 1) await this.dropOldest();
  }

  /** The oldest batch, or null when the spool is empty. A batch that cannot be read is dropped. */
  async peek(): Promise<{ seq: number; commands: ResultCommand[] } | null> {
    while (this.entries.length > 0) {
      const { seq } = this.entries[0]!;
      try {
        const commands = JSON.parse(await readFile(this.fileOf(seq), 'utf8')) as ResultCommand[];
        return { seq, commands };
      } catch {
        await this.dropOldest();
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

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResultCommand } from '../../shared/store/results.ts';
import { Spool } from './spool.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'spool-test-'));
  dirs.push(d);
  return d;
}
const batch = (n: number): ResultCommand[] => [{ op: 'set', key: `k${n}`, value: 'x'.repeat(100), ex: 60 }];

describe('Spool', () => {
  it('replays in order, and survives a restart', async () => {
    const d = await dir();
    const first = await Spool.open(d, 1_000_000);
    for (let i = 1; i <= 3; i++) await first.append(batch(i));
    const reopened = await Spool.open(d, 1_000_000);
    expect(reopened.stats().batches).toBe(3);
    const seen: string[] = [];
    for (let next = await reopened.peek(); next; next = await reopened.peek()) {
      seen.push((next.commands[0] as { key: string }).key);
      await reopened.remove(next.seq);
    }
    expect(seen).toEqual(['k1', 'k2', 'k3']);
    await reopened.append(batch(4));
    expect((await reopened.peek())?.seq).toBe(4);
  });

  it('drops the oldest batches past its budget and counts them', async () => {
    const d = await dir();
    const spool = await Spool.open(d, 600);
    for (let i = 1; i <= 10; i++) await spool.append(batch(i));
    const stats = spool.stats();
    expect(stats.bytes).toBeLessThanOrEqual(600);
    expect(stats.droppedBatches).toBe(10 - stats.batches);
    expect((await readdir(d)).length).toBe(stats.batches);
    const oldest = await spool.peek();
    expect((oldest!.commands[0] as { key: string }).key).toBe(`k${11 - stats.batches}`);
  });
});

import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResultCommand } from '../../shared/store/results.ts';
import { createLogger } from './logger.ts';
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

  it.each([
    ['{}'],
    ['[]'],
    ['null'],
    ['[1]'],
    ['[{"op":"bogus"}]'],
    ['[{"op":"set","key":"k","value":"v"}]'],
    ['[{"op":"sadd","key":"k","members":[]}]'],
    ['not json'],
  ])(
    'sets aside a file that cannot be a batch (%s), logs it and replays the batches around it',
    async (body) => {
      const d = await dir();
      const written = await Spool.open(d, 1_000_000);
      await written.append(batch(1));
      await writeFile(join(d, '000000000002.json'), body);
      const { log, errors } = capturingLogger();
      const spool = await Spool.open(d, 1_000_000, log);
      await spool.append(batch(3));

      const seen: string[] = [];
      for (let next = await spool.peek(); next; next = await spool.peek()) {
        seen.push((next.commands[0] as { key: string }).key);
        await spool.remove(next.seq);
      }
      expect(seen).toEqual(['k1', 'k3']);
      expect(spool.stats()).toMatchObject({ batches: 0, bytes: 0, badBatches: 1, droppedBatches: 0 });
      expect(await readdir(d)).toEqual(['000000000002.json.bad']);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ file: join(d, '000000000002.json.bad') });
      // Set aside for good: a restart does not pick it up again.
      expect((await Spool.open(d, 1_000_000)).isEmpty).toBe(true);
    },
  );

  it('makes its directory again when it was removed, and counts the batches that went with it', async () => {
    const d = await dir();
    const spool = await Spool.open(d, 1_000_000);
    await spool.append(batch(1));
    await rm(d, { recursive: true });
    await spool.append(batch(2));
    expect(await readdir(d)).toEqual(['000000000002.json']);
    const next = await spool.peek();
    expect((next!.commands[0] as { key: string }).key).toBe('k2');
    expect(spool.stats()).toMatchObject({ batches: 1, droppedBatches: 1 });
  });

  it('counts a batch it cannot write as dropped and still writes the others', async () => {
    const d = await dir();
    const spool = await Spool.open(d, 1_000_000);
    // A directory where the batch's temporary file goes makes that one write fail.
    await mkdir(join(d, '000000000002.json.tmp'));
    await expect(spool.appendAll([batch(1), batch(2), batch(3)])).rejects.toThrow(
      /^cannot spool 1 of 3 result batches \(1 commands lost\): /,
    );
    expect(spool.stats()).toMatchObject({ batches: 2, droppedBatches: 1 });
    expect((await readdir(d)).sort()).toEqual([
      '000000000001.json',
      '000000000002.json.tmp', // the blocking directory
      '000000000003.json',
    ]);
  });

  it('removes partial files a crash left behind when it opens', async () => {
    const d = await dir();
    await writeFile(join(d, '000000000007.json.tmp'), '[{"op":"se');
    const spool = await Spool.open(d, 1_000_000);
    expect(spool.isEmpty).toBe(true);
    expect(await readdir(d)).toEqual([]);
  });
});

function capturingLogger() {
  const errors: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      const line = JSON.parse(String(chunk));
      if (line.level >= 50) errors.push(line);
      done();
    },
  });
  return { log: createLogger('test', 'info', sink), errors };
}

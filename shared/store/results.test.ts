import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import type { HistoryPoint, IpStatus } from '../schema.ts';
import { createStore } from '../store.ts';
import { mergeHistoryPoints } from './history.ts';
import { queueResultCommand, resultCommands } from './results.ts';

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(() => backend?.close());

const point = (t: number, sent: number, received: number, rtt: number | null): HistoryPoint => ({
  t,
  sent,
  received,
  min: rtt,
  p10: rtt,
  p25: rtt,
  median: rtt,
  p75: rtt,
  p90: rtt,
  max: rtt,
});

describe('result commands through the real client and gateway', () => {
  it('writes statuses, err list and history, and writing the same batch twice changes nothing', async () => {
    const store = createStore(backend.redis);
    const build = resultCommands(store);
    const status: IpStatus = {
      ip: '198.18.0.1',
      send_count: 3,
      return_count: 2,
      err: 'timeout',
      updated_at: new Date().toISOString(),
    };
    const now = Math.floor(Date.now() / 1000);
    const batch = [
      // A status as a spool written before statuses went out in one MSET holds it.
      {
        op: 'set',
        key: store.keys.ipStatus('a1', status.ip),
        value: JSON.stringify(status),
        ex: 120,
      } as const,
      build.errAdd('a1', ['198.18.0.1', '198.18.0.2']),
      build.historyPoint('a1', '198.18.0.1', 'minute', point(now - 120, 6, 5, 1.5)),
      build.historyPoint('a1', '198.18.0.1', 'minute', point(now - 60, 6, 6, 2)),
      build.historyPoint('a1', '198.18.0.1', 'minute', point(now - 25 * 3600, 6, 6, 2)),
      ...build.historyTrim('a1', '198.18.0.1', 'minute', now),
      build.errRemove('a1', ['198.18.0.2']),
    ];
    for (let round = 0; round < 2; round++) {
      const p = backend.redis.pipeline();
      for (const c of batch) queueResultCommand(p, c);
      await p.exec();
    }
    expect(await store.statuses.get('a1', ['198.18.0.1'])).toEqual(new Map([['198.18.0.1', status]]));
    expect(await store.statuses.errList('a1')).toEqual(['198.18.0.1']);
    const points = await store.history.range('a1', '198.18.0.1', 'minute', 0, now);
    expect(points.map((p) => [p.t, p.sent, p.received])).toEqual([
      [now - 120, 6, 5],
      [now - 60, 6, 6],
    ]);
    expect(await store.history.range('a1', '198.18.0.1', 'hour', 0, now)).toEqual([]);
  });
});

describe('mergeHistoryPoints', () => {
  it('adds counts and weighs quantiles by replies for points that share a start', () => {
    const merged = mergeHistoryPoints([point(60, 3, 3, 1), point(0, 1, 0, null), point(60, 1, 1, 5)]);
    expect(merged).toHaveLength(2);
    expect(merged[0]).toEqual(point(0, 1, 0, null));
    expect(merged[1]).toMatchObject({ t: 60, sent: 4, received: 4, min: 1, max: 5, median: 2 });
  });
});

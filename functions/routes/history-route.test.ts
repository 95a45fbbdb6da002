import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  blockStartOf,
  encodeBlock,
  HOUR_BLOCKS,
  MINUTE_BLOCKS,
  slotOf,
} from '../../shared/history-blocks.ts';
import { keySchema } from '../../shared/keys.ts';
import type { HistoryPoint } from '../../shared/schema.ts';
import { type ApiHarness, startApiHarness } from '../testing/api-harness.ts';

// The history route reads the packed blocks the agent writes, and the sorted sets older agents
// wrote, in one answer: an upgrade loses no history.

let api: ApiHarness;
const keys = keySchema();
beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(() => api?.close());

const point = (t: number, median: number): HistoryPoint => ({
  t,
  sent: 6,
  received: 6,
  min: median,
  p10: median,
  p25: median,
  median,
  p75: median,
  p90: median,
  max: median,
});

it('answers history from packed blocks and from the old sorted sets together', async () => {
  const ip = '198.18.0.9';
  const now = Math.floor(Date.now() / 1000);
  const lastMinute = now - (now % 60) - 60;
  const start = blockStartOf(MINUTE_BLOCKS, ip, lastMinute);
  await api.backend.redis.set(
    keys.ipMinuteBlock('edge-1', ip, slotOf(MINUTE_BLOCKS, ip, start)),
    encodeBlock(MINUTE_BLOCKS, start, [point(lastMinute, 2)]),
  );
  // A slot left over from the ring's previous turn: another start, not shown.
  const stale = start - 73 * 1200;
  await api.backend.redis.set(
    keys.ipMinuteBlock('edge-1', ip, slotOf(MINUTE_BLOCKS, ip, start - 1200)),
    encodeBlock(MINUTE_BLOCKS, stale - 1200, [point(stale - 1200, 9)]),
  );
  const oldMinute = now - (now % 60) - 7200;
  await api.backend.redis.zadd(keys.ipMinutes('edge-1', ip), {
    score: oldMinute,
    member: JSON.stringify(point(oldMinute, 1)),
  });
  const day = now - (now % 86_400);
  await api.backend.redis.set(
    keys.ipHourBlock('edge-1', ip, slotOf(HOUR_BLOCKS, ip, day)),
    encodeBlock(HOUR_BLOCKS, day, [point(day, 3)]),
  );

  const hour = await api.call('GET', `/v1/agents/edge-1/ips/${ip}/history`);
  expect(hour.status).toBe(200);
  // Packed RTTs come back within the codes' ±0.23 %.
  const shape = (points: HistoryPoint[]) =>
    points.map((p) => [p.t, p.sent, p.received, Number(p.median?.toPrecision(2))]);
  expect(shape(hour.body.points)).toEqual([[lastMinute, 6, 6, 2]]);
  const dayView = await api.call('GET', `/v1/agents/edge-1/ips/${ip}/history?range=24h`);
  expect(shape(dayView.body.points)).toEqual([
    [oldMinute, 6, 6, 1],
    [lastMinute, 6, 6, 2],
  ]);
  const month = await api.call('GET', `/v1/agents/edge-1/ips/${ip}/history?range=30d`);
  expect(month.body.resolution).toBe('hour');
  expect(shape(month.body.points)).toEqual([[day, 6, 6, 3]]);
});

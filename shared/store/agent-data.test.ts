import { describe, expect, it } from 'vitest';
import { useFreshStore } from '../../test/support/fresh-store.ts';
import { encodeBlock, MINUTE_BLOCKS } from '../history-blocks.ts';
import { keySchema } from '../keys.ts';

// Statuses and packed history carry no expiry any more: deleting an agent through the API must
// take them along. And every config change is pushed to listening agents.

const t = useFreshStore();
const keys = keySchema();

describe('an agent deleted through the store', () => {
  it('takes its statuses, history and summaries with it, and nothing of an agent whose name it prefixes', async () => {
    const status = (ip: string) =>
      JSON.stringify({ ip, send_count: 1, return_count: 1, err: null, updated_at: 'x' });
    const block = encodeBlock(MINUTE_BLOCKS, 1_200, []);
    for (const agent of ['edge', 'edge-2']) {
      await t.backend.redis.sadd(keys.agentList(), agent);
      await t.backend.redis.mset({
        [keys.ipStatus(agent, '198.18.0.1')]: status('198.18.0.1'),
        [keys.ipStatus(agent, '2001:db8::1')]: status('2001:db8::1'),
        [keys.ipMinuteBlock(agent, '198.18.0.1', 5)]: block,
        [keys.ipHourBlock(agent, '2001:db8::1', 30)]: block,
        [keys.groupSummary(agent, 'dc_1')]: '{}',
        [keys.agentSummary(agent)]: '{}',
      });
      await t.backend.redis.zadd(keys.ipMinutes(agent, '198.18.0.1'), { score: 1, member: '{}' });
    }
    expect(await t.store.agents.remove('edge')).toBe(true);
    const left = (await t.backend.redis.keys('*')).sort();
    expect(left.filter((k) => k.includes('edge_'))).toEqual([]);
    expect(left.filter((k) => k.includes('edge-2'))).toHaveLength(7);
  });
});

describe('a config change', () => {
  it('is published on the config channel in the transaction that bumps the version', async () => {
    const messages: string[] = [];
    const sub = t.backend.redis.subscribe<string>(keys.configChannel());
    const live = new Promise<void>((resolve) => sub.on('subscribe', () => resolve()));
    sub.on('message', ({ message }) => messages.push(String(message)));
    try {
      await live;
      await t.store.groups.replace('dc1', ['198.18.0.1']);
      const deadline = Date.now() + 2_000;
      while (messages.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(messages).toEqual(['changed']);
      expect(await t.store.configVersion.get()).toBe(1);
    } finally {
      await sub.unsubscribe();
    }
  });
});

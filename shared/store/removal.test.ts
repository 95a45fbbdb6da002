import { describe, expect, it } from 'vitest';
import { useFreshStore } from '../../test/support/fresh-store.ts';
import { keySchema } from '../keys.ts';

// Removing something that is not there must not bump the config version: every bump makes every
// agent resync, and a retried DELETE or a typo in a script should not cost the fleet a resync.

const t = useFreshStore();
const keys = keySchema();

describe('removing what is not there', () => {
  it('leaves the config version alone for an unknown job, agent or group', async () => {
    expect(await t.store.jobs.remove('ghost', 'j')).toBe(false);
    expect(await t.store.agents.remove('ghost')).toBe(false);
    expect(await t.store.groups.remove('ghost')).toBe(false);
    expect(await t.store.configVersion.get()).toBe(0);
  });

  it('still removes, and bumps once, whatever part of each exists', async () => {
    // A job value written by hand without its listing, an agent known only by its err list, a
    // group known only by its members: each counts as there.
    await t.backend.redis.set(keys.agentJob('a1', 'j1'), '{"SPEC":"* * * * *","name":"j1","group":["g"]}');
    expect(await t.store.jobs.remove('a1', 'j1')).toBe(true);
    expect(await t.backend.redis.exists(keys.agentJob('a1', 'j1'))).toBe(0);
    expect(await t.store.configVersion.get()).toBe(1);

    await t.backend.redis.sadd(keys.agentErrList('a2'), '198.18.0.1');
    expect(await t.store.agents.remove('a2')).toBe(true);
    expect(await t.backend.redis.exists(keys.agentErrList('a2'))).toBe(0);
    expect(await t.store.configVersion.get()).toBe(2);

    await t.backend.redis.sadd(keys.group('g'), '198.18.0.1');
    expect(await t.store.groups.remove('g')).toBe(true);
    expect(await t.backend.redis.exists(keys.group('g'))).toBe(0);
    expect(await t.store.configVersion.get()).toBe(3);
  });
});

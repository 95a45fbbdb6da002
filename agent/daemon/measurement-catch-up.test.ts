import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import {
  type MeasurementRequest,
  measurementDeadline,
  measurementMessage,
  measurementResultSchema,
  measurementStateSchema,
  newMeasurementId,
} from '../../shared/measurement-schema.ts';
import { createStore } from '../../shared/store.ts';
import { describeLab, labMissing } from '../../test/lab/require-lab.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import type { ProbeEngine } from '../icmp/types.ts';
import { ConfigWatch } from './config-watch.ts';
import { openEngine } from './engine-loader.ts';
import { createLogger } from './logger.ts';
import { MeasurementRunner } from './measurement-runner.ts';
import { createRedisClient } from './redis-client.ts';

// Catching up on measurements announced while the agent was not listening, in-process: the
// agent's own Redis client through the gateway to redis-server, the real ConfigWatch
// subscription and the real probe engine (raw sockets, so root) pinging loopback addresses.

const keys = keySchema();
const AGENT = 'r1';
const PROCESS = 'r1-process-1';
let backend: TestBackend;
let engine: ProbeEngine;
const lines: { msg: string; measurement?: string; measurements?: string[] }[] = [];
const log = createLogger(
  AGENT,
  'info',
  new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  }),
);

beforeAll(async () => {
  if (labMissing) return;
  backend = await startTestBackend();
  engine = await openEngine({ ratePps: 1_000 });
});
afterAll(async () => {
  await engine?.close();
  await backend?.close();
});
beforeEach(async () => {
  lines.length = 0;
  await backend.redis.flushdb();
});

/** A request as the API makes it, choosing `startedAt`'s process of agent r1. */
function request(targets: string[], createdAt = Date.now(), startedAt = PROCESS): MeasurementRequest {
  const settings = { count: 2, interval_ms: 100, timeout_ms: 1_000 };
  return {
    id: newMeasurementId(),
    created_at: createdAt,
    deadline_at: measurementDeadline(createdAt, { targets: targets.length, ...settings }),
    targets,
    agents: [{ name: AGENT, started_at: startedAt }],
    offline: [],
    ...settings,
  };
}

function agentSide(startedAt = PROCESS) {
  const { redis, counters } = createRedisClient(backend.gatewayUrl, backend.token, 5_000);
  const store = createStore(redis);
  const runner = new MeasurementRunner({ agent: AGENT, startedAt, store, engine, log });
  return { redis, counters, store, runner };
}

async function state(id: string) {
  const raw = await backend.redis.get<string>(keys.measurementState(AGENT, id));
  return raw === null ? null : measurementStateSchema.parse(JSON.parse(raw));
}

async function until(what: string, done: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describeLab('catching up on measurements announced while the agent did not listen', () => {
  it('runs one announced before the subscription, as soon as the subscription is confirmed', async () => {
    const api = createStore(backend.redis).measurements;
    const missed = request(['127.0.0.1', '127.0.0.2']);
    // Nobody listens yet: the push reaches no one.
    expect(await api.create(missed)).toBe(0);

    const { redis, store, runner } = agentSide();
    const watch = new ConfigWatch({
      redis,
      store,
      log,
      pollMs: 60_000,
      resyncMs: 600_000,
      onMessage: (message) => runner.onMessage(message),
      onSubscribed: () => void runner.catchUp(),
      apply: async () => {},
    });
    try {
      await watch.start();
      await until(
        'the missed measurement to finish',
        async () => (await state(missed.id))?.state === 'finished',
      );
      const raw = await backend.redis.get<string>(keys.measurementResult(AGENT, missed.id));
      const { targets } = measurementResultSchema.parse(JSON.parse(raw!));
      expect(targets.map((t) => [t.ip, t.sent, t.received])).toEqual([
        ['127.0.0.1', 2, 2],
        ['127.0.0.2', 2, 2],
      ]);
      expect(lines.find((l) => l.msg.startsWith('caught up'))?.measurements).toEqual([missed.id]);

      // Announced while it listens, it arrives as a push as before.
      const pushed = request(['127.0.0.3']);
      expect(await api.create(pushed)).toBe(1);
      await until(
        'the pushed measurement to finish',
        async () => (await state(pushed.id))?.state === 'finished',
      );
    } finally {
      watch.stop();
      await runner.stop();
    }
    expect(lines.filter((l) => l.msg === 'measurement finished').length).toBe(2);
  });

  it('runs none twice, none past its deadline, none that chose another process; one command when nothing was missed', async () => {
    const api = createStore(backend.redis).measurements;
    const { runner, counters } = agentSide();
    const done = request(['127.0.0.1']);
    await api.create(done);
    expect(await runner.catchUp()).toBe(1);
    await until('it to finish', async () => (await state(done.id))?.state === 'finished');
    const finished = await state(done.id);

    // Seen already: read again, not run again.
    let before = counters.commands;
    expect(await runner.catchUp()).toBe(0);
    expect(counters.commands - before).toBe(1);
    expect(await state(done.id)).toEqual(finished);

    // Past its deadline (the API answers `failed` for it already): not even read.
    const expired = request(['127.0.0.2'], Date.now() - 60_000);
    await api.create(expired);
    expect(await backend.redis.zscore(keys.measurementPending(), expired.id)).not.toBeNull();
    // Chose the process before a restart: the API answers `failed` for it already.
    const other = request(['127.0.0.3'], Date.now(), 'r1-process-0');
    await api.create(other);
    before = counters.commands;
    expect(await runner.catchUp()).toBe(0);
    console.log(
      `catch-up with one unseen measurement of another process: ${counters.commands - before} commands`,
    );
    expect(counters.commands - before).toBe(2);

    // Pushed and caught up at once: run once.
    const both = request(['127.0.0.4']);
    await api.create(both);
    expect(runner.onMessage(measurementMessage(both.id, [AGENT]))).toBe(true);
    expect(await runner.catchUp()).toBe(0);
    await runner.stop();
    expect(await state(both.id)).toMatchObject({ state: 'finished' });
    expect(await state(expired.id)).toBeNull();
    expect(await state(other.id)).toBeNull();
    expect(await state(done.id)).toEqual(finished);
    const runs = lines.filter((l) => l.msg === 'measurement finished').map((l) => l.measurement);
    expect(runs).toEqual([done.id, both.id]);
  });
});

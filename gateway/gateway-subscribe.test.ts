import { createServer, type Server } from 'node:net';
import { errors, type Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../test/support/backend.ts';
import { startGateway } from './start-gateway.ts';

// Pub/sub over Server-Sent Events through the real @upstash/redis client: its subscribe() and
// psubscribe() against the gateway and a real redis-server, PUBLISH through the ordinary command
// endpoint, and what a subscriber sees when it, Redis or the gateway goes away.

const { UpstashError } = errors;

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(() => backend?.close());

type Subscriber = ReturnType<Redis['subscribe']>;

/** Resolves with the first event of `type` the subscriber sees, or rejects after `ms`. */
function next<T = unknown>(subscriber: Subscriber, type: string, ms = 3_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${type}' event within ${ms} ms`)), ms);
    subscriber.on(type as 'message', (data: unknown) => {
      clearTimeout(timer);
      resolve(data as T);
    });
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function subscribers(channel: string): Promise<number> {
  const [, count] = (await backend.redis.exec(['PUBSUB', 'NUMSUB', channel])) as [string, number];
  return count;
}

async function redisClients(): Promise<number> {
  const info = (await backend.redis.exec(['INFO', 'clients'])) as string;
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
}

describe('subscribe and publish', () => {
  it('delivers a message published by another client in well under a second', async () => {
    const subscriber = backend.redis.subscribe('news');
    try {
      expect(await next(subscriber, 'subscribe')).toBe(1);
      const received = next<{ channel: string; message: string }>(subscriber, 'message');
      const publisher = backend.client();
      const sent = performance.now();
      expect(await publisher.publish('news', 'hello, world')).toBe(1);
      const message = await received;
      const elapsed = performance.now() - sent;
      expect(message).toEqual({ channel: 'news', message: 'hello, world' });
      expect(elapsed).toBeLessThan(500);
    } finally {
      await subscriber.unsubscribe();
    }
  });

  it('hands JSON messages to a deserializing client as objects, in order', async () => {
    const redis = backend.client({ automaticDeserialization: true });
    const subscriber = redis.subscribe<{ n: number; text: string }>('json');
    const seen: { n: number; text: string }[] = [];
    subscriber.on('message', ({ message }) => seen.push(message));
    try {
      await next(subscriber, 'subscribe');
      for (let n = 0; n < 20; n++) await redis.publish('json', { n, text: `ü,${n}` });
      await waitFor(async () => seen.length === 20, 'all 20 messages');
      expect(seen.map((m) => m.n)).toEqual(Array.from({ length: 20 }, (_, n) => n));
      expect(seen[3]).toEqual({ n: 3, text: 'ü,3' });
    } finally {
      await subscriber.unsubscribe();
    }
  });

  it('delivers by pattern through psubscribe', async () => {
    const subscriber = backend.redis.psubscribe('agent-*');
    try {
      expect(await next(subscriber, 'psubscribe')).toBe(1);
      const received = next(subscriber, 'pmessage');
      await backend.redis.publish('agent-edge-1', 'wake');
      expect(await received).toEqual({ pattern: 'agent-*', channel: 'agent-edge-1', message: 'wake' });
    } finally {
      await subscriber.unsubscribe();
    }
  });

  it('lets the read-only token subscribe but not publish', async () => {
    const reader = backend.client({ token: backend.readOnlyToken });
    const subscriber = reader.subscribe('ro-channel');
    try {
      await next(subscriber, 'subscribe');
      const error = await reader.publish('ro-channel', 'x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstashError);
      expect((error as Error).message).toMatch(/NOPERM this token is read-only and 'publish'/);
      const received = next(subscriber, 'message');
      await backend.redis.publish('ro-channel', 'from the writer');
      expect(await received).toEqual({ channel: 'ro-channel', message: 'from the writer' });
    } finally {
      await subscriber.unsubscribe();
    }
  });

  it('requires the token: 401 without it, an error event for the client with a wrong one', async () => {
    const response = await fetch(`${backend.gatewayUrl}/subscribe/news`, { method: 'POST', body: '[]' });
    expect(response.status).toBe(401);
    expect((await response.json()) as unknown).toEqual({ error: expect.stringMatching(/Unauthorized/) });
    const subscriber = backend.client({ token: 'wrong' }).subscribe('news');
    const error = await next<Error>(subscriber, 'error');
    expect(error).toBeInstanceOf(UpstashError);
    expect(error.message).toMatch(/Unauthorized/);
    await subscriber.unsubscribe();
    expect(await subscribers('news')).toBe(0);
  });

  it("answers SSE lines in Upstash's format to a raw request, and 405 to other methods", async () => {
    const controller = new AbortController();
    const response = await fetch(`${backend.gatewayUrl}/subscribe/raw%20channel`, {
      headers: { authorization: `Bearer ${backend.token}`, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before "${needle}"; got ${JSON.stringify(text)}`);
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil('\n\n');
    expect(text).toBe('data: subscribe,raw channel,1\n\n');
    // A line break in a message continues on a `data:` line that the client cannot take for an event.
    await backend.redis.publish('raw channel', 'one\nmessage,raw channel,forged\n two');
    await readUntil(' two\n\n');
    expect(text.slice(text.indexOf('\n\n') + 2)).toBe(
      'data: message,raw channel,one\ndata:message,raw channel,forged\ndata:  two\n\n',
    );
    controller.abort();
    const put = await fetch(`${backend.gatewayUrl}/subscribe/x`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${backend.token}` },
    });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    const none = await fetch(`${backend.gatewayUrl}/subscribe`, {
      method: 'POST',
      headers: { authorization: `Bearer ${backend.token}` },
    });
    expect(none.status).toBe(400);
  });

  it('still refuses SUBSCRIBE sent as a command, pointing at the endpoint', async () => {
    const error = await backend.redis.exec(['SUBSCRIBE', 'news']).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/\/subscribe\/<channel>/);
  });
});

describe('what a subscription holds', () => {
  it('holds one Redis connection while open and frees it when the subscriber leaves', async () => {
    const before = await redisClients();
    const subscriber = backend.redis.subscribe('leaving');
    await next(subscriber, 'subscribe');
    expect(await subscribers('leaving')).toBe(1);
    expect(await redisClients()).toBe(before + 1);
    await subscriber.unsubscribe();
    await waitFor(async () => (await subscribers('leaving')) === 0, 'the subscription ends in Redis');
    await waitFor(async () => (await redisClients()) === before, 'the connection closes');
  });

  it('bounds the subscriptions one token holds, and a freed slot can be used again', async () => {
    const gateway = await startGateway({
      redisUrl: backend.redisUrl,
      token: backend.token,
      readOnlyToken: backend.readOnlyToken,
      port: 0,
      maxSubscriptionsPerToken: 2,
    });
    const client = (token: string) => backend.client({ url: gateway.url, token });
    const open: Subscriber[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        open.push(client(backend.token).subscribe(`bounded-${i}`));
        await next(open[i]!, 'subscribe');
      }
      const third = client(backend.token).subscribe('bounded-2');
      open.push(third);
      const error = await next<Error>(third, 'error');
      expect(error.message).toMatch(/already holds 2 subscriptions/);
      const raw = await fetch(`${gateway.url}/subscribe/bounded-2`, {
        method: 'POST',
        headers: { authorization: `Bearer ${backend.token}` },
        body: '[]',
      });
      expect(raw.status).toBe(429);
      // The other token has its own allowance.
      const reader = client(backend.readOnlyToken).subscribe('bounded-ro');
      open.push(reader);
      await next(reader, 'subscribe');
      await open[0]!.unsubscribe();
      await waitFor(async () => (await subscribers('bounded-0')) === 0, 'the first slot frees');
      const again = client(backend.token).subscribe('bounded-3');
      open.push(again);
      expect(await next(again, 'subscribe')).toBe(1);
    } finally {
      await Promise.all(open.map((s) => s.unsubscribe()));
      await gateway.close();
    }
  });
});

describe('when Redis or the gateway goes away', () => {
  it('ends the stream with an unsubscribe event when Redis stops, and a new subscription works once it is back', async () => {
    const subscriber = backend.redis.subscribe('restart');
    await next(subscriber, 'subscribe');
    const ended = next(subscriber, 'unsubscribe');
    await backend.stopRedis();
    try {
      expect(await ended).toBe(0);
      // While Redis is down a new subscription is refused at once, as an error event.
      const early = backend.redis.subscribe('restart');
      const error = await next<Error>(early, 'error');
      expect(error.message).toMatch(/Redis/);
      await early.unsubscribe();
    } finally {
      await backend.startRedis();
      await subscriber.unsubscribe();
    }
    const again = backend.redis.subscribe('restart');
    try {
      await next(again, 'subscribe');
      const received = next(again, 'message');
      await backend.redis.publish('restart', 'back');
      expect(await received).toEqual({ channel: 'restart', message: 'back' });
    } finally {
      await again.unsubscribe();
    }
  });

  it('ends the stream when Redis stops answering its PINGs', async () => {
    const silent = await silentRedis();
    const gateway = await startGateway({
      redisUrl: `redis://127.0.0.1:${silent.port}`,
      token: 't',
      port: 0,
      subscriptionKeepaliveMs: 100,
    });
    const subscriber = backend.client({ url: gateway.url, token: 't' }).subscribe('quiet');
    try {
      await next(subscriber, 'subscribe');
      expect(await next(subscriber, 'unsubscribe', 2_000)).toBe(0);
    } finally {
      await subscriber.unsubscribe();
      await gateway.close();
      silent.server.close();
    }
  });

  it('ends every stream with an unsubscribe event when the gateway stops', async () => {
    const gateway = await startGateway({ redisUrl: backend.redisUrl, token: 't', port: 0 });
    const subscriber = backend.client({ url: gateway.url, token: 't' }).subscribe('closing');
    await next(subscriber, 'subscribe');
    const ended = next(subscriber, 'unsubscribe');
    await gateway.close();
    expect(await ended).toBe(0);
    await waitFor(async () => (await subscribers('closing')) === 0, 'the subscription ends in Redis');
  });
});

/** A TCP server that confirms any SUBSCRIBE for channel "quiet" and then never answers again. */
async function silentRedis(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.once('data', () => socket.write('*3\r\n$9\r\nsubscribe\r\n$5\r\nquiet\r\n:1\r\n'));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

import { errors } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../test/support/backend.ts';
import { startGateway } from './start-gateway.ts';

// The gateway's HTTP contract seen from outside: status codes, JSON bodies, encodings, refusals,
// and what happens when Redis goes away and comes back.

const { UpstashError } = errors;

let backend: TestBackend;
beforeAll(async () => {
  // Scripts are refused by default; some tests below use one to make a reply of a rare shape.
  backend = await startTestBackend({ allowCommands: ['flushdb', 'eval'] });
});
afterAll(() => backend?.close());

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${backend.gatewayUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${backend.token}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

type Item = { result?: unknown; error?: string };

/** A response body, typed loosely enough to look at either a single answer or a pipeline's items. */
async function readJson(response: Response): Promise<Item & Item[]> {
  return (await response.json()) as Item & Item[];
}

describe('authentication', () => {
  it('answers 401 with a JSON error when the token is missing or wrong', async () => {
    const missing = await fetch(backend.gatewayUrl, { method: 'POST', body: '["PING"]' });
    expect(missing.status).toBe(401);
    expect((await readJson(missing)).error).toMatch(/Unauthorized/);
    const wrong = await post('/', ['PING'], { authorization: `Bearer ${backend.token}x` });
    expect(wrong.status).toBe(401);
    const notBearer = await post('/', ['PING'], { authorization: backend.token });
    expect(notBearer.status).toBe(401);
  });

  it('makes the client throw when the token is wrong', async () => {
    const error = await backend
      .client({ token: 'nope' })
      .ping()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstashError);
    expect((error as Error).message).toMatch(/Unauthorized/);
  });

  it('accepts the token as a _token query parameter, as Upstash does', async () => {
    const response = await fetch(`${backend.gatewayUrl}/?_token=${backend.token}`, {
      method: 'POST',
      body: '["PING"]',
    });
    expect(await readJson(response)).toEqual({ result: 'PONG' });
  });
});

describe('the read-only token', () => {
  it('runs reads', async () => {
    await backend.redis.set('ro-key', 'v');
    const reader = backend.client({ token: backend.readOnlyToken });
    expect(await reader.get('ro-key')).toBe('v');
    expect(await reader.exists('ro-key')).toBe(1);
    expect(await reader.ping()).toBe('PONG');
  });

  it('refuses writes with a clear error and changes nothing', async () => {
    const reader = backend.client({ token: backend.readOnlyToken });
    const error = await reader.set('ro-key', 'changed').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstashError);
    expect((error as Error).message).toMatch(
      /NOPERM this token is read-only and 'set' is not a read command/,
    );
    const response = await post('/', ['DEL', 'ro-key'], { authorization: `Bearer ${backend.readOnlyToken}` });
    expect(response.status).toBe(403);
    // Scripts of any kind, even where the read-write token may run them.
    for (const script of [
      ['EVAL', 'return 1', '0'],
      ['EVAL_RO', 'return 1', '0'],
    ]) {
      const response = await post('/', script, { authorization: `Bearer ${backend.readOnlyToken}` });
      expect(response.status).toBe(403);
    }
    expect(await backend.redis.get('ro-key')).toBe('v');
  });

  it('refuses the writes of a pipeline item by item and a whole transaction that writes', async () => {
    const auth = { authorization: `Bearer ${backend.readOnlyToken}` };
    const pipeline = await post(
      '/pipeline',
      [
        ['GET', 'ro-key'],
        ['SET', 'ro-key', 'x'],
        ['TTL', 'ro-key'],
      ],
      auth,
    );
    const items = await readJson(pipeline);
    expect(items[0]).toEqual({ result: 'v' });
    expect(items[1]?.error).toMatch(/^NOPERM/);
    expect(items[2]).toEqual({ result: -1 });
    const tx = await post(
      '/multi-exec',
      [
        ['GET', 'ro-key'],
        ['SET', 'ro-key', 'x'],
      ],
      auth,
    );
    expect(tx.status).toBe(403);
    expect(await backend.redis.get('ro-key')).toBe('v');
  });
});

describe('encodings', () => {
  it('base64-encodes every string at every depth, and leaves integers and nil alone', async () => {
    await backend.redis.del('enc-list');
    await backend.redis.rpush('enc-list', 'a', '✓');
    const response = await post(
      '/',
      ['EVAL', "return {1, 'x', {redis.call('LRANGE', KEYS[1], 0, -1), false}}", '1', 'enc-list'],
      {
        'upstash-encoding': 'base64',
      },
    );
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    expect(await readJson(response)).toEqual({ result: [1, b64('x'), [[b64('a'), b64('✓')], null]] });
    const pong = await post('/', ['PING'], { 'upstash-encoding': 'base64' });
    expect(await readJson(pong)).toEqual({ result: b64('PONG') });
  });

  it('keeps bytes that are not UTF-8 intact in base64', async () => {
    // SETRANGE-free way to store raw bytes: a script builds them with string.char.
    await post('/', [
      'EVAL',
      "return redis.call('SET', KEYS[1], string.char(255, 0, 254))",
      '1',
      'raw-bytes',
    ]);
    const response = await post('/', ['GET', 'raw-bytes'], { 'upstash-encoding': 'base64' });
    expect(await readJson(response)).toEqual({ result: Buffer.from([255, 0, 254]).toString('base64') });
  });

  it('answers plain JSON without the header', async () => {
    await backend.redis.set('plain', '{"json":"looking"}');
    const response = await post('/pipeline', [
      ['GET', 'plain'],
      ['INCR', 'plain-counter'],
      ['GET', 'nothing'],
    ]);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await readJson(response)).toEqual([
      { result: '{"json":"looking"}' },
      { result: 1 },
      { result: null },
    ]);
  });

  it('writes 64-bit integers into the JSON digit for digit', async () => {
    await backend.redis.set('big-int', '9223372036854775806');
    const response = await post('/', ['INCR', 'big-int']);
    expect(await response.text()).toBe('{"result":9223372036854775807}');
  });

  it('accepts numbers and booleans as arguments', async () => {
    const response = await post('/pipeline', [
      ['SET', 'typed', 7],
      ['GET', 'typed'],
      ['SET', 'flag', true],
      ['GET', 'flag'],
    ]);
    expect(await readJson(response)).toEqual([
      { result: 'OK' },
      { result: '7' },
      { result: 'OK' },
      { result: 'true' },
    ]);
  });

  it('serves the path form: GET /set/key/value and POST /set/key with the value as body', async () => {
    const headers = { authorization: `Bearer ${backend.token}` };
    const set = await fetch(`${backend.gatewayUrl}/set/path-key/a%2Fb%20c`, { headers });
    expect(await readJson(set)).toEqual({ result: 'OK' });
    expect(await backend.redis.get('path-key')).toBe('a/b c');
    await fetch(`${backend.gatewayUrl}/set/path-body`, { method: 'POST', headers, body: 'from the body' });
    const get = await fetch(`${backend.gatewayUrl}/get/path-body`, { headers });
    expect(await readJson(get)).toEqual({ result: 'from the body' });
  });
});

describe('bad requests', () => {
  it('answers 400 for a body that is not a command', async () => {
    for (const body of ['not json', '{}', '[]', '[null]', '[["GET"]]', '["SET", "k", {"a": 1}]']) {
      const response = await post('/', body);
      expect(response.status, body).toBe(400);
      expect(typeof (await readJson(response)).error, body).toBe('string');
    }
    for (const body of ['[]', '["GET", "k"]', '[["GET", "k"], "GET"]']) {
      const response = await post('/pipeline', body);
      expect(response.status, body).toBe(400);
    }
  });

  it('answers 413 for a body over 1 MB, and the next request works', async () => {
    const big = JSON.stringify(['SET', 'big', 'x'.repeat(1024 * 1024)]);
    const response = await post('/', big);
    expect(response.status).toBe(413);
    expect((await readJson(response)).error).toMatch(/larger than/);
    expect(await backend.redis.exists('big')).toBe(0);
    const error = await backend.redis.set('big', 'y'.repeat(1024 * 1024)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstashError);
    expect(await backend.redis.ping()).toBe('PONG');
  });

  it('answers 413 for a chunked body over 1 MB (no Content-Length), counted as it arrives', async () => {
    const head = new TextEncoder().encode('["SET","chunked","');
    const filler = new TextEncoder().encode('x'.repeat(64 * 1024));
    let part = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (part === 0) controller.enqueue(head);
        else if (part <= 20) controller.enqueue(filler);
        else {
          controller.enqueue(new TextEncoder().encode('"]'));
          controller.close();
        }
        part++;
      },
    });
    const response = await fetch(`${backend.gatewayUrl}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${backend.token}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect((await readJson(response)).error).toMatch(/larger than/);
    expect(await backend.redis.exists('chunked')).toBe(0);
    expect(await backend.redis.ping()).toBe('PONG');
  });

  it('refuses blocking and connection-state commands with a clear error', async () => {
    const refused = [
      ['BLPOP', 'q', '0'],
      ['BRPOP', 'q', '1'],
      ['BLMOVE', 'a', 'b', 'LEFT', 'RIGHT', '0'],
      ['BZPOPMIN', 'z', '0'],
      ['XREAD', 'BLOCK', '0', 'STREAMS', 's', '$'],
      ['WAIT', '1', '0'],
      ['SUBSCRIBE', 'c'],
      ['PSUBSCRIBE', 'c*'],
      ['MONITOR'],
      ['MULTI'],
      ['EXEC'],
      ['WATCH', 'k'],
      ['SELECT', '1'],
      ['AUTH', 'x'],
      ['HELLO', '3'],
      ['QUIT'],
      ['CLIENT', 'REPLY', 'OFF'],
      ['SHUTDOWN'],
      ['CONFIG', 'SET', 'dir', '/'],
    ];
    for (const command of refused) {
      const response = await post('/', command);
      expect(response.status, command.join(' ')).toBe(400);
      expect((await readJson(response)).error, command.join(' ')).toMatch(
        /is not supported over the REST gateway/,
      );
    }
    // XREAD without BLOCK is an ordinary read, and the connection still works for everyone.
    const xread = await post('/', ['XREAD', 'COUNT', '1', 'STREAMS', 'no-stream', '0']);
    expect(await readJson(xread)).toEqual({ result: null });
    expect(await backend.redis.ping()).toBe('PONG');
  });
});

describe('pipelines and transactions over HTTP', () => {
  it('answers each pipeline item, a refused or failing one included, in order', async () => {
    await backend.redis.set('p-str', 'abc');
    const response = await post('/pipeline', [
      ['SET', 'p-a', '1'],
      ['BLPOP', 'q', '0'],
      ['INCR', 'p-str'],
      ['NOSUCHCOMMAND'],
      ['GET', 'p-a'],
    ]);
    expect(response.status).toBe(200);
    const items = await readJson(response);
    expect(items).toHaveLength(5);
    expect(items[0]).toEqual({ result: 'OK' });
    expect(items[1]?.error).toMatch(/'blpop' is not supported/);
    expect(items[2]).toEqual({ error: 'ERR value is not an integer or out of range' });
    expect(items[3]?.error).toMatch(/^ERR unknown command 'NOSUCHCOMMAND'/);
    expect(items[4]).toEqual({ result: '1' });
  });

  it('turns EXECABORT into one top-level error and runs nothing', async () => {
    const response = await post('/multi-exec', [
      ['SET', 'tx-abort', '1'],
      ['NOSUCHCOMMAND'],
      ['SET', 'tx-abort', '2'],
    ]);
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body.error).toMatch(/^EXECABORT Transaction discarded because of previous errors/);
    expect(body.error).toMatch(/command 2: ERR unknown command/);
    expect(await backend.redis.exists('tx-abort')).toBe(0);
    const error = await backend.redis
      .multi()
      .set('tx-abort', '1')
      .hset('tx-abort', {})
      .exec()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstashError);
    expect((error as Error).message).toMatch(/^EXECABORT .*wrong number of arguments for 'hset'/);
    expect(await backend.redis.exists('tx-abort')).toBe(0);
  });

  it('runs concurrent transactions without mixing them up', async () => {
    await backend.redis.del('tx-counter');
    const results = await Promise.all(
      Array.from({ length: 40 }, () => backend.redis.multi().incr('tx-counter').get('tx-counter').exec()),
    );
    for (const [n, read] of results as [number, string][]) expect(read).toBe(String(n));
    expect(await backend.redis.get('tx-counter')).toBe('40');
  });
});

describe('Redis that stops answering', () => {
  it('gives up on a connection after the reply timeout, answers 500, and recovers', async () => {
    const gateway = await startGateway({
      redisUrl: backend.redisUrl,
      token: backend.token,
      port: 0,
      replyTimeoutMs: 300,
      allowCommands: ['eval'],
    });
    try {
      // A script that keeps Redis busy for 1 s: long past the gateway's 300 ms patience.
      const busy = `local t = redis.call('TIME')
        local stop = t[1] * 1000000 + t[2] + 1000000
        repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= stop
        return 'done'`;
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${backend.token}` },
        body: JSON.stringify(['EVAL', busy, '0']),
      });
      expect(response.status).toBe(500);
      expect((await readJson(response)).error).toMatch(/no reply within 300 ms/);
      // Once the script is over, the next request reconnects and works.
      await new Promise((resolve) => setTimeout(resolve, 900));
      expect(await gateway.checkRedis()).toBeNull();
    } finally {
      await gateway.close();
    }
  });
});

describe('Redis restarted under the gateway', () => {
  it('answers 500 with a JSON error while Redis is down, and works again once it is back', async () => {
    expect(await backend.redis.set('before', '1')).toBe('OK');
    await backend.stopRedis();
    try {
      const response = await post('/', ['PING']);
      expect(response.status).toBe(500);
      expect((await readJson(response)).error).toMatch(/Redis/);
      const pipeline = await post('/pipeline', [['PING']]);
      expect(pipeline.status).toBe(500);
      const error = await backend.redis.ping().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstashError);
    } finally {
      await backend.startRedis();
    }
    expect(await backend.redis.ping()).toBe('PONG');
    expect(await backend.redis.set('after', '2')).toBe('OK');
    expect(await backend.redis.multi().get('after').exec()).toEqual(['2']);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import { type ApiHarness, snapshot, startApiHarness, WEBHOOK_SECRET } from '../testing/api-harness.ts';
import { sign } from './signature.ts';

let api: ApiHarness;
const keys = keySchema();
const path = '/v1/webhooks/groups/inventory';

beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(() => api?.close());
beforeEach(async () => {
  await api.backend.redis.flushdb();
});

describe('POST /v1/webhooks/groups/{group}', () => {
  it('creates the group from a signed JSON body and answers the diff', async () => {
    const res = await api.webhook(path, JSON.stringify({ ips: ['198.18.0.2', '198.18.0.1'] }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      group: 'inventory',
      dry_run: false,
      created: true,
      ip_count: 2,
      added: ['198.18.0.1', '198.18.0.2'],
      removed: [],
    });
    expect(await api.backend.redis.smembers(keys.groupsList())).toEqual(['inventory']);
  });

  it('accepts a text/plain list, one address or block per line, with comments', async () => {
    await api.webhook(path, JSON.stringify({ ips: ['198.18.0.1', '198.18.0.9'] }));
    const body = '# export 2026-01-01\n198.18.0.1\r\n\n198.18.2.0/30  # rack 2\nfd00::1\n';
    const res = await api.webhook(path, body, { contentType: 'text/plain; charset=utf-8' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      created: false,
      added: ['198.18.2.1', '198.18.2.2', 'fd00::1'],
      removed: ['198.18.0.9'],
    });
  });

  it('writes a group of more than 10,000 IPs that does not expire', async () => {
    const body = Array.from({ length: 12_000 }, (_, i) => `198.19.${i >> 8}.${i & 255}`).join('\n');
    const res = await api.webhook(path, body, { contentType: 'text/plain' });
    expect(res.status).toBe(200);
    expect(await api.backend.redis.scard(keys.group('inventory'))).toBe(12_000);
    expect(await api.backend.redis.ttl(keys.group('inventory'))).toBe(-1);
  });

  it('checks the signature over the raw bytes, a leading byte-order mark included', async () => {
    // Inventory exports saved on Windows often start with a UTF-8 BOM; the sender signs it too.
    const plain = await api.webhook(path, '\uFEFF198.18.0.1\n198.18.0.2\n', { contentType: 'text/plain' });
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ ip_count: 2, added: ['198.18.0.1', '198.18.0.2'] });
    const json = await api.webhook(path, `\uFEFF${JSON.stringify({ ips: ['198.18.0.3'] })}`);
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ ip_count: 1, added: ['198.18.0.3'] });
  });

  it('computes the diff but changes nothing with dry_run=true', async () => {
    const before = await snapshot(api.backend);
    const res = await api.webhook(`${path}?dry_run=true`, JSON.stringify({ ips: ['198.18.0.1'] }), {
      id: 'dry-1',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dry_run: true, created: true, added: ['198.18.0.1'] });
    // Only the delivery id is remembered (see the next test); no group, job or version changed.
    const { [keys.webhookSeen('dry-1')]: seen, ...after } = await snapshot(api.backend);
    expect(seen).toBe('1');
    expect(after).toEqual(before);
  });

  it('refuses a dry run replayed without dry_run: the query is not covered by the signature', async () => {
    const body = JSON.stringify({ ips: ['198.18.0.1'] });
    const id = 'dry-2';
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = `v1,${await sign(WEBHOOK_SECRET, id, String(timestamp), body)}`;
    expect((await api.webhook(`${path}?dry_run=true`, body, { id, timestamp, signature })).status).toBe(200);
    const replay = await api.webhook(path, body, { id, timestamp, signature });
    expect(replay.status).toBe(409);
    expect(await api.backend.redis.exists(keys.group('inventory'))).toBe(0);
  });

  it('accepts any of several signatures and secrets (rotation)', async () => {
    const next = `whsec_${btoa('the next webhook key....')}`;
    api.env.WEBHOOK_SECRET = `${next} ${WEBHOOK_SECRET}`;
    try {
      const body = JSON.stringify({ ips: ['198.18.0.1'] });
      const id = 'rotate-1';
      const ts = Math.floor(Date.now() / 1000);
      const good = await sign(WEBHOOK_SECRET, id, String(ts), body);
      const res = await api.webhook(path, body, {
        id,
        timestamp: ts,
        signature: `v1,AAAA v2,zzz v1,${good}`,
      });
      expect(res.status).toBe(200);
      expect((await api.webhook(path, body, { secret: next })).status).toBe(200);
    } finally {
      api.env.WEBHOOK_SECRET = WEBHOOK_SECRET;
    }
  });

  it('refuses a replayed delivery id with 409', async () => {
    const body = JSON.stringify({ ips: ['198.18.0.1'] });
    expect((await api.webhook(path, body, { id: 'once' })).status).toBe(200);
    const again = await api.webhook(path, body, { id: 'once' });
    expect(again.status).toBe(409);
    expect(again.body.error.type).toBe('replayed');
    expect(await api.backend.redis.ttl(keys.webhookSeen('once'))).toBeGreaterThan(300);
  });

  it('accepts any visible ASCII in the id (Standard Webhooks does not restrict it), replay-protected as any id', async () => {
    const body = JSON.stringify({ ips: ['198.18.0.1'] });
    for (const id of ['msg_2K+pB/gL==', 'a*b?[c]\\d%41', 'x'.repeat(128)]) {
      const res = await api.webhook(path, body, { id });
      expect(res.status, id).toBe(200);
      expect((await api.webhook(path, body, { id })).status, id).toBe(409);
      // The id is kept under a key with no glob or separator surprises in it.
      const key = keys.webhookSeen(id);
      expect(key).toMatch(/^webhook-seen_[A-Za-z0-9._:%-]+$/);
      expect(await api.backend.redis.ttl(key)).toBeGreaterThan(300);
    }
    for (const id of ['has space', 'x'.repeat(129), 'caf\u00e9']) {
      const res = await api.webhook(path, body, { id });
      expect(res.status, id).toBe(400);
      expect(res.body.error.message).toContain('webhook-id');
    }
  });

  it('refuses bad signatures, old or future timestamps and missing headers with 401, changing nothing', async () => {
    const body = JSON.stringify({ ips: ['198.18.0.1'] });
    const before = await snapshot(api.backend);
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      await api.webhook(path, body, { secret: `whsec_${btoa('some other key')}` }),
      await api.webhook(path, body, { signature: 'v1,bm90IGEgc2lnbmF0dXJl' }),
      await api.webhook(path, body, { timestamp: now - 301 }),
      await api.webhook(path, body, { timestamp: now + 301 }),
    ];
    for (const res of cases) expect(res.status).toBe(401);
    expect(cases[2]!.body.error.type).toBe('timestamp_out_of_range');
    const unsigned = await api.raw(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: { headers: string[] } }).error.headers).toEqual([
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
    ]);
    // A signature over another body does not carry over to this one.
    const ts = String(now);
    const other = await sign(WEBHOOK_SECRET, 'x1', ts, JSON.stringify({ ips: ['198.18.0.66'] }));
    expect(
      (await api.webhook(path, body, { id: 'x1', timestamp: now, signature: `v1,${other}` })).status,
    ).toBe(401);
    expect(await snapshot(api.backend)).toEqual(before);
  });

  it('validates the signed body: bad IPs 422, unknown fields 422, bad JSON 400, other types 415', async () => {
    expect((await api.webhook(path, JSON.stringify({ ips: ['224.0.0.1'] }))).status).toBe(422);
    expect((await api.webhook(path, JSON.stringify({ ips: [], source: 'x' }))).status).toBe(422);
    expect((await api.webhook(path, '{"ips":')).status).toBe(400);
    expect((await api.webhook(path, '<ips/>', { contentType: 'application/xml' })).status).toBe(415);
    expect((await api.webhook('/v1/webhooks/groups/-x', '{"ips":[]}')).status).toBe(400);
    expect(await snapshot(api.backend)).toEqual({});
  });

  it('answers a config error naming WEBHOOK_SECRET when its key is not base64', async () => {
    const env = { ...api.env, WEBHOOK_SECRET: 'whsec_abcde' };
    const res = await api.raw(
      path,
      { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } },
      env,
    );
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({
      type: 'config',
      binding: 'WEBHOOK_SECRET',
    });
  });

  it('answers 500 naming WEBHOOK_SECRET when it is not configured', async () => {
    const { WEBHOOK_SECRET: _, ...env } = api.env;
    const res = await api.raw(
      path,
      { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } },
      env,
    );
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({
      type: 'config',
      binding: 'WEBHOOK_SECRET',
    });
  });
});

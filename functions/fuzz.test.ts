import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySchema } from '../shared/keys.ts';
import { type ApiHarness, snapshot, startApiHarness, TOKENS } from './testing/api-harness.ts';

// Random and malformed requests against the real app and store: whatever arrives, the answer is
// a JSON error with a 4xx (or, for a read with the read token, a success), never a 500, and no key
// in Redis changes. Runs are bounded in count; the seed is printed by fast-check on failure.

let api: ApiHarness;
let before: Record<string, string>;
const keys = keySchema();

beforeAll(async () => {
  api = await startApiHarness();
  await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1', 'fd00::1'] } });
  await api.call('PUT', '/v1/agents/edge-1/jobs/core', { body: { spec: '*/10 * * * * *', groups: ['dc1'] } });
  await api.backend.redis.sadd(keys.agentList(), 'edge-1');
  await api.backend.redis.set(
    keys.ipStatus('edge-1', '198.18.0.1'),
    JSON.stringify({
      ip: '198.18.0.1',
      send_count: 1,
      return_count: 1,
      err: null,
      updated_at: new Date().toISOString(),
    }),
  );
  before = await snapshot(api.backend);
});
afterAll(() => api?.close());

const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
const segment = fc.oneof(
  fc.constantFrom('dc1', 'edge-1', 'core', '198.18.0.1', 'fd00::1', '..', '%00', '%2F', '-x', 'a_b', ''),
  printable.map(encodeURIComponent),
);
const query = fc.oneof(
  fc.constant(''),
  fc.webQueryParameters().map((q) => `?${q}`),
  fc.constantFrom(
    '?force=true',
    '?dry_run=true',
    '?group=dc1&max_loss=-1',
    '?cursor=x',
    '?range=2h',
    '?group=dc1&x=1',
  ),
);
const path = fc.oneof(
  fc.tuple(segment, query).map(([g, q]) => `/v1/groups/${g}${q}`),
  fc.tuple(segment, query).map(([g, q]) => `/v1/groups/${g}/report${q}`),
  fc.tuple(segment, segment, query).map(([a, j, q]) => `/v1/agents/${a}/jobs/${j}${q}`),
  fc.tuple(segment, segment, query).map(([a, ip, q]) => `/v1/agents/${a}/ips/${ip}/history${q}`),
  fc.tuple(segment, query).map(([a, q]) => `/v1/agents/${a}${q}`),
  query.map((q) => `/v1/check${q}`),
  fc.tuple(segment, query).map(([g, q]) => `/v1/webhooks/groups/${g}${q}`),
  fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.json(),
  printable,
  fc
    .record({ ips: fc.array(fc.oneof(printable, fc.constant('198.18.0.9')), { maxLength: 5 }) })
    .map((b) => JSON.stringify(b)),
  fc.constantFrom(
    '{"ips":',
    '{"ips":["224.0.0.1"]}',
    '{"spec":"* * * * *","groups":["dc1"],"x":1}',
    '\u0000',
    '[]',
  ),
);
const contentType = fc.option(
  fc.constantFrom(
    'application/json',
    'text/plain',
    'application/xml',
    'application/json; charset=utf-8',
    'garbage',
  ),
);
const method = fc.constantFrom('GET', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS');

async function send(m: string, p: string, headers: Record<string, string>, b: string | undefined) {
  const res = await api.raw(p, { method: m, headers, body: m === 'GET' || m === 'HEAD' ? undefined : b });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text };
}

function expectJsonError(result: { status: number; type: string; text: string }) {
  expect(result.status, result.text).toBeGreaterThanOrEqual(400);
  expect(result.status, result.text).toBeLessThan(500);
  expect(result.type).toContain('application/json');
  const parsed = JSON.parse(result.text);
  expect(typeof parsed.error.type).toBe('string');
  expect(typeof parsed.error.message).toBe('string');
  expect(result.text).not.toMatch(/\n\s+at /);
}

describe('fuzz', () => {
  it('without a valid write token nothing changes and the answer is never a 5xx', async () => {
    const token = fc.constantFrom(null, 'nope', TOKENS.read, `${TOKENS.write}x`, '');
    await fc.assert(
      fc.asyncProperty(method, path, body, contentType, token, printable, async (m, p, b, ct, t, extra) => {
        const headers: Record<string, string> = { 'x-fuzz': extra };
        if (t !== null) headers.authorization = `Bearer ${t}`;
        if (ct !== null) headers['content-type'] = ct;
        const result = await send(m, p, headers, b);
        const readWithReadToken = t === TOKENS.read && (m === 'GET' || m === 'OPTIONS');
        // Outside /v1 only pages and documents are served (dashboard, docs, OpenAPI); under /v1 only
        // health answers without a token. Paths are compared as the URL parser normalises them.
        const where = new URL(`http://fuzz${p}`).pathname;
        const open = !where.startsWith('/v1/') || where.startsWith('/v1/health');
        if (result.status < 400 && (readWithReadToken || (open && m === 'GET'))) return;
        // A webhook with random signature headers is refused; anything else must be an error.
        expectJsonError(result);
      }),
      { numRuns: 300 },
    );
    expect(await snapshot(api.backend)).toEqual(before);
  });

  it('with the write token, malformed or invalid bodies are refused with a 4xx and change nothing', async () => {
    const invalidBody = fc.oneof(
      printable.filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return true;
        }
      }),
      fc.json().map((j) => `{"unknown_field": ${j}, "ips": []}`),
      fc
        .record({
          ips: fc.array(
            printable.filter((s) => !/^[0-9a-fA-F:./]+$/.test(s.trim())),
            { minLength: 1 },
          ),
        })
        .map((b) => JSON.stringify(b)),
      fc
        .record({ spec: printable, groups: fc.array(printable) })
        .map((b) => JSON.stringify({ ...b, extra: true })),
    );
    const target = fc.constantFrom('/v1/groups/dc1', '/v1/groups/fresh', '/v1/agents/edge-1/jobs/core');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('PUT', 'PATCH'), target, invalidBody, async (m, p, b) => {
        const result = await send(
          m,
          p,
          { authorization: `Bearer ${TOKENS.write}`, 'content-type': 'application/json' },
          b,
        );
        expectJsonError(result);
      }),
      { numRuns: 200 },
    );
    expect(await snapshot(api.backend)).toEqual(before);
  });

  it('webhooks with random signature headers are refused and change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(printable, printable, printable, body, async (id, ts, sig, b) => {
        const result = await send(
          'POST',
          '/v1/webhooks/groups/dc1',
          {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': ts,
            'webhook-signature': sig,
          },
          b ?? '',
        );
        expectJsonError(result);
      }),
      { numRuns: 150 },
    );
    expect(await snapshot(api.backend)).toEqual(before);
  });
});

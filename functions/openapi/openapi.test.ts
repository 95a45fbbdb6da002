import { compileErrors, dereference, validate } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import { createStore } from '../../shared/store.ts';
import { type ApiHarness, startApiHarness, TOKENS, WEBHOOK_SECRET } from '../testing/api-harness.ts';
import { sign } from '../webhooks/signature.ts';

// /openapi.json is held to what the API does: a validator accepts it, and requests built from it
// alone (parameters and bodies drawn from its schemas, both tokens, validly signed webhooks) get
// only answers it declares, each matching its declared schema, never a 5xx.

// biome-ignore lint/suspicious/noExplicitAny: the description is walked as plain JSON
type Json = any;

let api: ApiHarness;
let spec: Json;
/** The same description with every $ref replaced by what it points to. */
let resolved: Json;
const keys = keySchema();

beforeAll(async () => {
  api = await startApiHarness();
  spec = (await api.call('GET', '/openapi.json', { token: null })).body;
  resolved = await dereference(structuredClone(spec));
});
afterAll(() => api?.close());

interface Operation {
  method: string;
  path: string;
  op: Json;
}

function operations(doc: Json): Operation[] {
  return Object.entries<Json>(doc.paths).flatMap(([path, ops]) =>
    Object.entries<Json>(ops).map(([method, op]) => ({ method, path, op })),
  );
}

describe('the description', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await validate(structuredClone(spec));
    expect(result.valid, compileErrors(result)).toBe(true);
  });

  it('declares query numbers as numbers with their bounds', () => {
    const param = (path: string, name: string) =>
      spec.paths[path].get.parameters.find((p: Json) => p.name === name).schema;
    expect(param('/v1/agents/{agent}/ips', 'count')).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 1000,
    });
    expect(param('/v1/check', 'max_loss')).toMatchObject({ type: 'number', minimum: 0, maximum: 1 });
    expect(param('/v1/check', 'max_rtt_ms')).toMatchObject({ type: 'number', minimum: 0, maximum: 600_000 });
    expect(param('/v1/check', 'max_age_s')).toMatchObject({ type: 'number', minimum: 1 });
  });

  it('declares IPs with formats and patterns, and the webhook headers with their patterns', () => {
    const history = resolved.paths['/v1/agents/{agent}/ips/{ip}/history'].get.parameters;
    const ip = history.find((p: Json) => p.name === 'ip').schema;
    expect(ip.anyOf.map((s: Json) => s.format)).toEqual(['ipv4', 'ipv6']);
    const entry = resolved.components.schemas.GroupReplace.properties.ips.items;
    expect(entry.anyOf.map((s: Json) => s.format ?? 'pattern')).toEqual([
      'ipv4',
      'ipv6',
      'pattern',
      'pattern',
    ]);
    const hook = spec.paths['/v1/webhooks/groups/{group}'].post.parameters;
    const header = (name: string) => hook.find((p: Json) => p.name === name && p.in === 'header').schema;
    expect(header('webhook-id').pattern).toBeTruthy();
    expect(header('webhook-timestamp').pattern).toBe('^[0-9]{1,12}$');
  });

  it('lists 413, 415 and 422 for every route with a JSON body, 401 and 403 for every bearer write', () => {
    for (const { method, path, op } of operations(spec)) {
      const answers = Object.keys(op.responses);
      if (op.requestBody)
        expect(answers, `${method} ${path}`).toEqual(expect.arrayContaining(['413', '415', '422']));
      if (op.security && method !== 'get') {
        expect(answers, `${method} ${path}`).toEqual(expect.arrayContaining(['401', '403']));
      }
      expect(answers, `${method} ${path}`).toEqual(expect.arrayContaining(['500', '503']));
    }
  });
});

/** Values drawn from a (dereferenced) JSON schema, as the spec allows them. */
function fromSchema(schema: Json): fc.Arbitrary<unknown> {
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map(fromSchema));
  if (schema.oneOf) return fc.oneof(...schema.oneOf.map(fromSchema));
  if ('const' in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'string':
      if (schema.format === 'ipv4') return fc.ipV4();
      if (schema.format === 'ipv6') return fc.ipV6();
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      return fc.string({ maxLength: Math.min(schema.maxLength ?? 30, 30) });
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(fromSchema(schema.items), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 4, 4)),
      });
    case 'object': {
      const props = Object.fromEntries(
        Object.entries<Json>(schema.properties ?? {}).map(([k, s]) => [k, fromSchema(s)]),
      );
      return fc.record(props, { requiredKeys: schema.required ?? [] });
    }
    default:
      throw new Error(`no generator for schema ${JSON.stringify(schema).slice(0, 200)}`);
  }
}

/** Names that exist in the seeded store, so generated requests reach successes too, not only 404s. */
const known: Record<string, unknown[]> = {
  group: ['dc1'],
  agent: ['edge-1'],
  job: ['core'],
  ip: ['198.18.0.1'],
  groups: [['dc1']],
  id: ['seededmeasurement000'],
  name: ['seeded', 'spare'],
};

/** Bodies naming what exists, for the writes whose random bodies could never be taken. */
const existingBodies: Record<string, fc.Arbitrary<unknown>> = {
  '/v1/alerts/{name}': fc.record({
    group: fc.constant('dc1'),
    max_loss: fc.constantFrom(0, 0.5),
    notify: fc.constant(['seeded']),
  }),
  '/v1/notifiers/{name}': fc.record({
    type: fc.constantFrom('webhook', 'slack'),
    url: fc.constant('https://hooks.example.com/in'),
  }),
};

function parameterValue(name: string, schema: Json): fc.Arbitrary<unknown> {
  const generated = fromSchema(schema);
  return known[name] ? fc.oneof(fc.constantFrom(...known[name]), generated) : generated;
}

interface Drawn {
  path: string;
  headers: Record<string, string>;
  body?: string;
  signed: boolean;
}

function requests({ path, op }: Operation): fc.Arbitrary<Drawn> {
  const params: Json[] = op.parameters ?? [];
  const values = fc.record(
    Object.fromEntries(
      params.map((p) => {
        const value = parameterValue(p.name, p.schema);
        return [`${p.in}:${p.name}`, p.required ? value : fc.option(value, { nil: undefined })];
      }),
    ),
  );
  const bodySchema = op.requestBody?.content['application/json']?.schema;
  const body = bodySchema
    ? fc.oneof(
        fromSchema(bodySchema),
        // Bodies naming what exists, so group and job writes succeed as well as fail.
        path === '/v1/measurements'
          ? // ...and measurements are asked for (random targets are mostly blocks too large to measure).
            fc.record({
              targets: fc.constant(['198.18.0.1']),
              agents: fc.constantFrom('all', ['edge-1'], { any: 1 }),
            })
          : (existingBodies[path] ??
              fc.record({
                spec: fc.constantFrom('*/10 * * * * *', '0 * * * *'),
                groups: fc.constant(['dc1']),
              })),
      )
    : fc.constant(undefined);
  const token = op.security ? fc.constantFrom(TOKENS.write, TOKENS.read) : fc.constant(null);
  return fc.record({ values, body, token, signed: fc.boolean() }).map(({ values, body, token, signed }) => {
    let url = path;
    const query = new URLSearchParams();
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) continue;
      const [where, name] = key.split(':') as [string, string];
      if (where === 'path') url = url.replace(`{${name}}`, encodeURIComponent(String(value)));
      else if (where === 'query') query.set(name, String(value));
      else if (where === 'header') headers[name] = String(value);
    }
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const search = query.toString();
    return {
      path: search ? `${url}?${search}` : url,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signed,
    };
  });
}

let deliveries = 0;

/** A webhook drawn as signed gets a current timestamp, a fresh id and a valid signature. */
async function signIfDrawn(drawn: Drawn): Promise<void> {
  if (!drawn.signed || drawn.body === undefined) return;
  const id = `prop-${process.pid}-${++deliveries}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  drawn.headers['webhook-id'] = id;
  drawn.headers['webhook-timestamp'] = timestamp;
  drawn.headers['webhook-signature'] = `v1,${await sign(WEBHOOK_SECRET, id, timestamp, drawn.body)}`;
}

async function seed(): Promise<void> {
  await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1', 'fd00::1'] } });
  await api.call('PUT', '/v1/agents/edge-1/jobs/core', { body: { spec: '*/10 * * * * *', groups: ['dc1'] } });
  await api.backend.redis.set(
    keys.ipStatus('edge-1', '198.18.0.1'),
    JSON.stringify({
      ip: '198.18.0.1',
      send_count: 4,
      return_count: 3,
      err: null,
      rtt_avg_ms: 1.5,
      updated_at: new Date().toISOString(),
    }),
  );
  await api.backend.redis.sadd(keys.agentErrList('edge-1'), '198.18.0.1');
  // An online agent to measure from, and a finished measurement to read (so no GET waits).
  const beat = { version: '0', hostname: 'h', pid: 1, started_at: 'seed', jobs: ['core'] };
  await api.backend.redis.set(keys.agentOnline('edge-1'), JSON.stringify(beat), { ex: 300 });
  const measurements = createStore(api.backend.redis).measurements;
  const now = Date.now();
  const request = {
    id: 'seededmeasurement000',
    created_at: now,
    deadline_at: now + 5_000,
    targets: ['198.18.0.1'],
    agents: [{ name: 'edge-1', started_at: 'seed' }],
    offline: [],
    count: 1,
    interval_ms: 0,
    timeout_ms: 100,
  };
  await measurements.create(request);
  await measurements.markFinished(request, 'edge-1', now, [], now);
  // A rule and the notifier it uses, and a notifier no rule uses (which can be deleted).
  for (const n of ['seeded', 'spare']) {
    await api.call('PUT', `/v1/notifiers/${n}`, {
      body: { type: 'slack', url: 'https://hooks.example.com/in' },
    });
  }
  await api.call('PUT', '/v1/alerts/seeded', { body: { group: 'dc1', max_loss: 0, notify: ['seeded'] } });
}

describe('every operation, driven by the description alone', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const validators = new Map<string, ValidateFunction>();
  const validatorFor = (schema: Json, key: string) => {
    const cached = validators.get(key);
    if (cached) return cached;
    const compiled = ajv.compile(schema);
    validators.set(key, compiled);
    return compiled;
  };

  it('answers only declared statuses, each matching its schema, never a 5xx, with both tokens', async () => {
    const seen: Record<string, Set<number>> = {};
    for (const operation of operations(resolved)) {
      const name = `${operation.method.toUpperCase()} ${operation.path}`;
      const statuses = new Set<number>();
      seen[name] = statuses;
      await seed();
      // Random bodies are mostly refused (one unpingable IP refuses a whole group), so an
      // operation that has not reached a success yet gets more runs, up to 200 in all.
      const succeeded = () => [...statuses].some((s) => s < 300 || s === 412);
      for (let round = 0; round < 5 && (round === 0 || !succeeded()); round++)
        await fc.assert(
          fc.asyncProperty(requests(operation), async (drawn) => {
            await signIfDrawn(drawn);
            const res = await api.raw(drawn.path, {
              method: operation.method.toUpperCase(),
              headers: drawn.headers,
              body: drawn.body,
            });
            const text = await res.text();
            const where = `${name} ${drawn.path} -> ${res.status} ${text.slice(0, 300)}`;
            statuses.add(res.status);
            expect(res.status, where).toBeLessThan(500);
            const declared = operation.op.responses[String(res.status)];
            expect(declared, `undeclared status: ${where}`).toBeDefined();
            const media = declared.content['application/json'];
            expect(res.headers.get('content-type'), where).toContain('application/json');
            const check = validatorFor(media.schema, `${name} ${res.status}`);
            const valid = check(JSON.parse(text));
            expect(valid, `${where}\n${ajv.errorsText(check.errors)}`).toBe(true);
          }),
          { numRuns: 40 },
        );
    }
    if (process.env.SHOW_STATUSES)
      console.log(
        Object.entries(seen)
          .map(([n, s]) => `${n}: ${[...s].sort()}`)
          .join('\n'),
      );
    // The generators reach successes, not only refusals, on every operation.
    for (const [name, statuses] of Object.entries(seen)) {
      expect(
        [...statuses].some((s) => s < 300 || s === 412),
        `${name}: ${[...statuses]}`,
      ).toBe(true);
    }
  }, 120_000);
});

import { describe, expect, it } from 'vitest';
import { cronSpecProblem } from './cron-spec.ts';
import { ipStatusSchema, jobValueSchema, parseStored, StoredValueError } from './schema.ts';

describe('job values', () => {
  it("reads the seed's own example", () => {
    const job = jobValueSchema.parse(
      JSON.parse('{"SPEC": "*/10 * * * * *", "name": "core", "group": ["dc1"]}'),
    );
    expect(job).toEqual({ SPEC: '*/10 * * * * *', name: 'core', group: ['dc1'] });
  });
  it('keeps unknown fields that other tools wrote', () => {
    expect(jobValueSchema.parse({ SPEC: '* * * * *', name: 'a', group: [], owner: 'net' })).toHaveProperty(
      'owner',
    );
  });
  it('refuses a bad SPEC, a bad count and bad group names', () => {
    expect(jobValueSchema.safeParse({ SPEC: 'every minute', name: 'a', group: [] }).success).toBe(false);
    expect(jobValueSchema.safeParse({ SPEC: '* * * * *', name: 'a', group: [], count: 0 }).success).toBe(
      false,
    );
    expect(jobValueSchema.safeParse({ SPEC: '* * * * *', name: 'a', group: ['a b'] }).success).toBe(false);
  });
});

describe('cron SPECs', () => {
  it('accepts 5 and 6 fields', () => {
    expect(cronSpecProblem('* * * * *')).toBeNull();
    expect(cronSpecProblem('*/10 * * * * *')).toBeNull();
    expect(cronSpecProblem('0 */5 * * 1-5')).toBeNull();
  });
  it('says what is wrong with the rest', () => {
    expect(cronSpecProblem('* * * *')).toMatch(/has 4/);
    expect(cronSpecProblem('* * * * * * *')).toMatch(/has 7/);
    expect(cronSpecProblem('61 * * * *')).toMatch(/not a valid cron expression/);
    expect(cronSpecProblem('* * 31 2 *')).not.toBeNull();
  });
});

describe('stored values', () => {
  const status = {
    ip: '10.0.0.1',
    send_count: 3,
    return_count: 2,
    err: 'timeout',
    updated_at: '2026-01-01T00:00:00Z',
  };
  it('parses JSON text with a schema', () => {
    expect(parseStored(ipStatusSchema, JSON.stringify(status), 'ip_a_10.0.0.1')).toMatchObject(status);
    expect(parseStored(ipStatusSchema, null, 'ip_a_10.0.0.1')).toBeNull();
  });
  it('names the key when a value is not JSON or not valid', () => {
    expect(() => parseStored(ipStatusSchema, '{', 'ip_a_x')).toThrow(StoredValueError);
    expect(() => parseStored(ipStatusSchema, '{', 'ip_a_x')).toThrow(/ip_a_x is not JSON/);
    expect(() => parseStored(ipStatusSchema, '{"ip": 1}', 'ip_a_x')).toThrow(/ip_a_x is invalid/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupSummarySchema, parseStored, StoredValueError } from '../schema.ts';
import { buildSummary } from './build-summary.ts';
import { readSummary } from './read-summary.ts';

// The hand check must never accept what the schema rejects, nor answer other than the schema.
function bySchema(raw: unknown) {
  try {
    return parseStored(groupSummarySchema, raw, 'k');
  } catch (error) {
    if (error instanceof StoredValueError) return null;
    throw error;
  }
}

const members = ['10.0.0.1', '10.0.0.2', '10.0.0.3', 'fd00::1'];
const written = buildSummary({
  members,
  statusOf: (ip) =>
    ip === 'fd00::1'
      ? undefined
      : {
          ip,
          send_count: 10,
          return_count: ip === '10.0.0.2' ? 5 : 10,
          err: null,
          rtt_avg_ms: ip === '10.0.0.3' ? null : 1.5,
          updated_at: new Date(0).toISOString(),
        },
  computedAtMs: 1_000,
});

const oddValue = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.string({ maxLength: 3 }),
  fc.constantFrom(-1, -0, 0, 0.5, 1, 1.5, 2 ** 53, 7, Number.NaN),
  fc.constant([]),
  fc.constant({}),
);
const topField = fc.constantFrom(
  'v',
  'computed_at',
  'digest',
  'members',
  'missing',
  'listed',
  'unlisted_max_loss',
  'unlisted_max_rtt_ms',
  'truncated',
  'extra',
);
const entryField = fc.constantFrom('ip', 'loss', 'rtt', 'sent', 'returned', 'err', 'extra');

describe('readSummary', () => {
  it('reads what the agents write, and nothing from an absent or unparsable value', () => {
    expect(readSummary(JSON.stringify(written), 'k')).toEqual(written);
    expect(readSummary(null, 'k')).toBeNull();
    expect(readSummary('{"v":1', 'k')).toBeNull();
    expect(readSummary(JSON.stringify({ ...written, v: 2 }), 'k')).toBeNull();
  });

  it('answers as the schema does, on summaries with any field changed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(topField, oddValue), { maxLength: 2 }),
        fc.array(fc.tuple(fc.nat(2), entryField, oddValue), { maxLength: 3 }),
        fc.array(oddValue, { maxLength: 1 }),
        fc.boolean(),
        (top, inEntries, inMissing, asText) => {
          const s = structuredClone(written) as unknown as Record<string, unknown>;
          const listed = s.listed as Record<string, unknown>[];
          for (const [i, field, value] of inEntries) if (listed[i]) listed[i][field] = value;
          (s.missing as unknown[]).push(...inMissing);
          for (const [field, value] of top) s[field] = value;
          const raw = asText ? JSON.stringify(s) : s;
          expect(readSummary(raw, 'k')).toEqual(bySchema(raw));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

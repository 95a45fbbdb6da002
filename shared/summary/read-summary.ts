import { type GroupSummary, groupSummarySchema, parseStoredOrNull } from '../schema.ts';

// A stored summary as the check reads it, on every check, up to 1,000 listed entries per agent.
// The summaries the agents write have one exact shape; checking that shape by hand costs a
// fraction of the schema's parse. Anything else (extra entry fields the schema would strip, a
// value out of range, not a summary at all) goes through the schema, so the answer is always the
// schema's: the summary it parses to, or null when it does not.

/** The summary stored at `key`; null when absent or malformed (the check then reads every status). */
export function readSummary(raw: unknown, key: string): GroupSummary | null {
  if (raw === null || raw === undefined) return null;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  if (isPlainSummary(value)) return value;
  return parseStoredOrNull(groupSummarySchema, value, key);
}

const ENTRY_FIELDS = 6;

function isPlainSummary(v: unknown): v is GroupSummary {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const s = v as Record<string, unknown>;
  if (s.v !== 1 || typeof s.computed_at !== 'string' || typeof s.digest !== 'string') return false;
  if (!isCount(s.members) || !isShare(s.unlisted_max_loss) || typeof s.truncated !== 'boolean') return false;
  if (s.unlisted_max_rtt_ms !== null && !isMs(s.unlisted_max_rtt_ms)) return false;
  const { missing, listed } = s;
  if (!Array.isArray(missing) || !Array.isArray(listed)) return false;
  for (const ip of missing) if (typeof ip !== 'string') return false;
  for (const e of listed) if (!isPlainEntry(e)) return false;
  return true;
}

function isPlainEntry(e: unknown): boolean {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return false;
  const x = e as Record<string, unknown>;
  let fields = 0;
  for (const _ in x) fields++;
  return (
    fields === ENTRY_FIELDS &&
    typeof x.ip === 'string' &&
    (x.loss === null || isShare(x.loss)) &&
    (x.rtt === null || isMs(x.rtt)) &&
    isCount(x.sent) &&
    isCount(x.returned) &&
    (x.err === null || typeof x.err === 'string')
  );
}

function isCount(n: unknown): boolean {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isShare(n: unknown): boolean {
  return typeof n === 'number' && n >= 0 && n <= 1;
}

function isMs(n: unknown): boolean {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0;
}

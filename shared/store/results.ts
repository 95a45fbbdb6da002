import type { HistoryPoint } from '../schema.ts';
import { chunk, type RedisClient, type StoreContext } from './context.ts';
import { HISTORY, type HistoryResolution, historyKeyOf } from './history.ts';

// The agent's writes, as plain data. A job run turns into a list of these; they go to Redis in
// pipelines, or to the on-disk spool when Redis does not answer, and are replayed from there
// unchanged. Every one of them is idempotent: a status is the whole value, a history bucket is a
// whole member, set members are set members. So a batch sent twice changes nothing the second time.

export type ResultCommand =
  | { op: 'set'; key: string; value: string; ex: number }
  | { op: 'zadd'; key: string; score: number; member: string }
  | { op: 'zremrangebyscore'; key: string; min: number; max: number }
  | { op: 'expire'; key: string; seconds: number }
  | { op: 'sadd'; key: string; members: string[] }
  | { op: 'srem'; key: string; members: string[] }
  | { op: 'mset'; entries: [key: string, value: string][] }
  | { op: 'del'; keys: string[] };

/**
 * Checks that a value read back from outside the process (a spool file) is a batch the writer can
 * send: a non-empty array of well-formed commands. Throws naming the first problem. A new op needs
 * its case here too, or its batches are set aside as bad.
 */
export function parseResultBatch(value: unknown): ResultCommand[] {
  if (!Array.isArray(value)) throw new Error(`a batch is an array of commands, not ${kindOf(value)}`);
  if (value.length === 0) throw new Error('the batch is empty');
  value.forEach((command, i) => {
    const problem = resultCommandProblem(command);
    if (problem) throw new Error(`command ${i}: ${problem}`);
  });
  return value as ResultCommand[];
}

function resultCommandProblem(command: unknown): string | null {
  if (typeof command !== 'object' || command === null || Array.isArray(command))
    return `a command is an object, not ${kindOf(command)}`;
  const c = command as Record<string, unknown>;
  switch (c.op) {
    case 'set':
      return isKey(c.key) && isString(c.value) && isPositiveInteger(c.ex)
        ? null
        : 'set needs a key, a string value and ex, an integer > 0';
    case 'zadd':
      return isKey(c.key) && isNumber(c.score) && isString(c.member)
        ? null
        : 'zadd needs a key, a number score and a string member';
    case 'zremrangebyscore':
      return isKey(c.key) && isNumber(c.min) && isNumber(c.max)
        ? null
        : 'zremrangebyscore needs a key and numbers min and max';
    case 'expire':
      return isKey(c.key) && isPositiveInteger(c.seconds)
        ? null
        : 'expire needs a key and seconds, an integer > 0';
    case 'sadd':
    case 'srem':
      return isKey(c.key) && Array.isArray(c.members) && c.members.length > 0 && c.members.every(isString)
        ? null
        : `${c.op} needs a key and a non-empty array of string members`;
    case 'mset':
      return Array.isArray(c.entries) &&
        c.entries.length > 0 &&
        c.entries.every((e) => Array.isArray(e) && e.length === 2 && isKey(e[0]) && isString(e[1]))
        ? null
        : 'mset needs a non-empty array of [key, string value] entries';
    case 'del':
      return Array.isArray(c.keys) && c.keys.length > 0 && c.keys.every(isKey)
        ? null
        : 'del needs a non-empty array of keys';
    default:
      return `op ${JSON.stringify(c.op) ?? 'undefined'} is not one the agent writes`;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isKey = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPositiveInteger = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

export function resultCommands({ keys }: Pick<StoreContext, 'keys'>) {
  return {
    errAdd(agent: string, ips: string[]): ResultCommand {
      return { op: 'sadd', key: keys.agentErrList(agent), members: ips };
    },

    errRemove(agent: string, ips: string[]): ResultCommand {
      return { op: 'srem', key: keys.agentErrList(agent), members: ips };
    },

    /** One complete bucket of the earlier per-point history, scored by its start: what the
     * footprint benchmark writes to show the cost it replaced, and what older spools replay. */
    historyPoint(
      agent: string,
      ip: string,
      resolution: HistoryResolution,
      point: HistoryPoint,
    ): ResultCommand {
      return {
        op: 'zadd',
        key: historyKeyOf(keys, agent, ip, resolution),
        score: point.t,
        member: JSON.stringify(point),
      };
    },

    /** Caps a history set to its retention and lets it vanish once nothing writes to it. */
    historyTrim(agent: string, ip: string, resolution: HistoryResolution, nowSec: number): ResultCommand[] {
      const { keepSeconds } = HISTORY[resolution];
      const key = historyKeyOf(keys, agent, ip, resolution);
      return [
        { op: 'zremrangebyscore', key, min: 0, max: nowSec - keepSeconds },
        { op: 'expire', key, seconds: keepSeconds },
      ];
    },
  };
}

type Pipeline = ReturnType<RedisClient['pipeline']>;

/** Adds one command to a pipeline. */
export function queueResultCommand(pipeline: Pipeline, command: ResultCommand): void {
  switch (command.op) {
    case 'set':
      pipeline.set(command.key, command.value, { ex: command.ex });
      return;
    case 'zadd':
      pipeline.zadd(command.key, { score: command.score, member: command.member });
      return;
    case 'zremrangebyscore':
      pipeline.zremrangebyscore(command.key, command.min, command.max);
      return;
    case 'expire':
      pipeline.expire(command.key, command.seconds);
      return;
    case 'sadd':
      pipeline.sadd(command.key, command.members[0]!, ...command.members.slice(1));
      return;
    case 'srem':
      pipeline.srem(command.key, ...command.members);
      return;
    case 'mset':
      pipeline.mset(Object.fromEntries(command.entries));
      return;
    case 'del':
      pipeline.del(...command.keys);
      return;
  }
}

/** About how many bytes the command takes in a request body (JSON array of strings), to split under 1 MB. */
export function resultCommandBytes(command: ResultCommand): number {
  const overhead = 24;
  switch (command.op) {
    case 'set':
      return overhead + command.key.length + command.value.length * 1.2 + 16;
    case 'zadd':
      return overhead + command.key.length + command.member.length * 1.2 + 24;
    case 'zremrangebyscore':
      return overhead + command.key.length + 32;
    case 'expire':
      return overhead + command.key.length + 16;
    case 'sadd':
    case 'srem':
      return overhead + command.key.length + command.members.reduce((sum, m) => sum + m.length + 3, 0);
    case 'mset':
      return overhead + command.entries.reduce((sum, [k, v]) => sum + entryBytes(k, v), 0);
    case 'del':
      return overhead + command.keys.reduce((sum, k) => sum + k.length * 1.2 + 3, 0);
  }
}

/** What one MSET entry adds to a request body (JSON escapes of a JSON value count ~20 % more). */
function entryBytes(key: string, value: string): number {
  return key.length * 1.2 + value.length * 1.2 + 6;
}

/** Most bytes one MSET carries: an MSET is one command however many keys it holds, so only its size splits it. */
export const MSET_MAX_BYTES = 800 * 1024;

/**
 * The run's entries as few MSETs as the request size allows (usually one). A key set twice keeps
 * its last value, as one MSET would.
 */
export function msetCommands(entries: readonly [string, string][]): ResultCommand[] {
  const out: ResultCommand[] = [];
  let current: [string, string][] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entryBytes(entry[0], entry[1]);
    if (current.length > 0 && bytes + size > MSET_MAX_BYTES) {
      out.push({ op: 'mset', entries: current });
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) out.push({ op: 'mset', entries: current });
  return out;
}

/** DELs of keys no longer written, a request's worth each. */
export function delCommands(keyList: readonly string[]): ResultCommand[] {
  return chunk(keyList, 1_000).map((part) => ({ op: 'del', keys: part }));
}

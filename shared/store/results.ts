import type { HistoryPoint, IpStatus } from '../schema.ts';
import type { RedisClient, StoreContext } from './context.ts';
import { HISTORY, type HistoryResolution } from './history.ts';

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
  | { op: 'srem'; key: string; members: string[] };

export function resultCommands({ keys }: Pick<StoreContext, 'keys'>) {
  const historyKey = (agent: string, ip: string, resolution: HistoryResolution) =>
    resolution === 'minute' ? keys.ipMinutes(agent, ip) : keys.ipHours(agent, ip);

  return {
    /** `ip_{agent}_{ip}`: the whole status, expiring when no job probes the IP any more. */
    status(agent: string, status: IpStatus, expireSeconds: number): ResultCommand {
      return {
        op: 'set',
        key: keys.ipStatus(agent, status.ip),
        value: JSON.stringify(status),
        ex: expireSeconds,
      };
    },

    errAdd(agent: string, ips: string[]): ResultCommand {
      return { op: 'sadd', key: keys.agentErrList(agent), members: ips };
    },

    errRemove(agent: string, ips: string[]): ResultCommand {
      return { op: 'srem', key: keys.agentErrList(agent), members: ips };
    },

    /** One complete bucket, scored by its start. */
    historyPoint(
      agent: string,
      ip: string,
      resolution: HistoryResolution,
      point: HistoryPoint,
    ): ResultCommand {
      return {
        op: 'zadd',
        key: historyKey(agent, ip, resolution),
        score: point.t,
        member: JSON.stringify(point),
      };
    },

    /** Caps a history set to its retention and lets it vanish once nothing writes to it. */
    historyTrim(agent: string, ip: string, resolution: HistoryResolution, nowSec: number): ResultCommand[] {
      const { keepSeconds } = HISTORY[resolution];
      const key = historyKey(agent, ip, resolution);
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
  }
}

import {
  MEASUREMENT_ID_PATTERN,
  MEASUREMENT_TTL_S,
  type MeasurementRequest,
  type MeasurementState,
  measurementMessage,
  measurementRequestSchema,
  measurementResultSchema,
  measurementStateSchema,
  type TargetFigures,
} from '../measurement-schema.ts';
import { parseStored, parseStoredOrNull } from '../schema.ts';
import { type StoreContext, sortedStrings } from './context.ts';

// On-demand measurements in Redis (issue 13). The API writes the request and announces it on the
// config channel in one MULTI, so an agent told of it can always read it. Each agent writes only
// its own state and result keys, which expire with the request (EXAT of the request's end of life,
// so a late writer cannot keep them longer).
//
// Pub/sub keeps nothing for an agent whose stream is down, so the same MULTI also lists the id in
// `measurement-pending`, scored by its deadline: an agent reads it once each time it subscribes
// and runs what it missed. One set for all agents, not one per agent, so announcing costs the
// same three commands however many agents are chosen; it holds only ids (every request is
// readable by every agent anyway), is trimmed of passed deadlines at each announcement, and
// expires with the newest request.

/** An agent as a candidate for a measurement: listed, and its heartbeat's process if online. */
export interface MeasurementCandidate {
  name: string;
  listed: boolean;
  /** The heartbeat's `started_at`, null when the agent is offline. */
  startedAt: string | null;
}

export interface AgentProgress {
  name: string;
  stored: MeasurementState | null;
  heartbeatStartedAt: string | null;
}

/** Most pending ids an agent reads when it catches up: far more than are ever pending at once. */
const PENDING_READ_LIMIT = 200;

/** The Unix second at which everything of a measurement expires. */
export function measurementExpiry(request: Pick<MeasurementRequest, 'created_at'>): number {
  return Math.floor(request.created_at / 1000) + MEASUREMENT_TTL_S;
}

/** A heartbeat's process start, read leniently: a heartbeat another tool wrote still means online. */
function startedAtOf(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  try {
    const value = typeof raw === 'string' ? JSON.parse(raw) : raw;
    return typeof value?.started_at === 'string' ? value.started_at : '';
  } catch {
    return '';
  }
}

export function measurementStore({ redis, keys }: StoreContext) {
  return {
    /** Every listed agent (or the named ones, listed or not) with its heartbeat's process start. */
    async candidates(names?: readonly string[]): Promise<MeasurementCandidate[]> {
      // Named agents' heartbeats come in the same request as the list; all agents' need the list first.
      const p = redis.pipeline();
      p.smembers(keys.agentList());
      if (names && names.length > 0) p.mget(...names.map((n) => keys.agentOnline(n)));
      const [members, namedBeats] = (await p.exec()) as [unknown, unknown[]?];
      const listed = new Set(sortedStrings(members));
      const chosen = names ? [...names] : [...listed].sort();
      if (chosen.length === 0) return [];
      const beats =
        namedBeats ?? ((await redis.mget(...chosen.map((n) => keys.agentOnline(n)))) as unknown[]);
      return chosen.map((name, i) => ({ name, listed: listed.has(name), startedAt: startedAtOf(beats[i]) }));
    },

    /** Stores the request and tells its agents, in one transaction; answers how many listeners heard. */
    async create(request: MeasurementRequest): Promise<number> {
      const tx = redis.multi();
      tx.set(keys.measurement(request.id), JSON.stringify(request), { exat: measurementExpiry(request) });
      const names = request.agents.map((a) => a.name);
      tx.publish(keys.configChannel(), measurementMessage(request.id, names));
      const pending = keys.measurementPending();
      tx.zadd(pending, { score: request.deadline_at, member: request.id });
      tx.zremrangebyscore(pending, '-inf', `(${request.created_at}`);
      tx.expireat(pending, measurementExpiry(request));
      const replies = (await tx.exec()) as unknown[];
      return Number(replies[1] ?? 0);
    },

    async request(id: string): Promise<MeasurementRequest | null> {
      const key = keys.measurement(id);
      return parseStored(measurementRequestSchema, await redis.get(key), key);
    },

    /** Each chosen agent's stored state and current heartbeat, in one request. */
    async progress(request: MeasurementRequest): Promise<AgentProgress[]> {
      const names = request.agents.map((a) => a.name);
      if (names.length === 0) return [];
      const p = redis.pipeline();
      p.mget(...names.map((n) => keys.measurementState(n, request.id)));
      p.mget(...names.map((n) => keys.agentOnline(n)));
      const [states, beats] = (await p.exec()) as [unknown[], unknown[]];
      return names.map((name, i) => ({
        name,
        stored: parseStored(measurementStateSchema, states[i], keys.measurementState(name, request.id)),
        heartbeatStartedAt: startedAtOf(beats[i]),
      }));
    },

    /** The figures of the named agents; null for an agent with none stored. */
    async results(id: string, agents: readonly string[]): Promise<(TargetFigures[] | null)[]> {
      if (agents.length === 0) return [];
      const raw = (await redis.mget(...agents.map((n) => keys.measurementResult(n, id)))) as unknown[];
      return agents.map(
        (n, i) =>
          parseStored(measurementResultSchema, raw[i], keys.measurementResult(n, id))?.targets ?? null,
      );
    },

    // The agent's side.

    /** Ids of measurements whose deadline is after `now`, soonest first, at most `limit` of them. */
    async pending(now: number, limit = PENDING_READ_LIMIT): Promise<string[]> {
      const ids = await redis.zrange(keys.measurementPending(), now, '+inf', {
        byScore: true,
        offset: 0,
        count: limit,
      });
      return (ids as unknown[]).map(String).filter((id) => MEASUREMENT_ID_PATTERN.test(id));
    },

    /** The requests of several ids in one command; null for one that expired or is malformed. */
    async requests(ids: readonly string[]): Promise<(MeasurementRequest | null)[]> {
      if (ids.length === 0) return [];
      const raw = (await redis.mget(...ids.map((id) => keys.measurement(id)))) as unknown[];
      return ids.map((id, i) => parseStoredOrNull(measurementRequestSchema, raw[i], keys.measurement(id)));
    },

    async markRunning(request: MeasurementRequest, agent: string, now: number): Promise<void> {
      const state: MeasurementState = { state: 'running', started_at: now };
      await redis.set(keys.measurementState(agent, request.id), JSON.stringify(state), {
        exat: measurementExpiry(request),
      });
    },

    /**
     * The figures, then the `finished` state, in one request. Readers go by the state, so they
     * never see `finished` without figures. (A pipeline, not MULTI: agents' Redis users may not MULTI.)
     */
    async markFinished(
      request: MeasurementRequest,
      agent: string,
      startedAt: number,
      targets: TargetFigures[],
      now: number,
    ): Promise<void> {
      const exat = measurementExpiry(request);
      const state: MeasurementState = { state: 'finished', started_at: startedAt, finished_at: now };
      const p = redis.pipeline();
      p.set(keys.measurementResult(agent, request.id), JSON.stringify({ targets }), { exat });
      p.set(keys.measurementState(agent, request.id), JSON.stringify(state), { exat });
      await p.exec();
    },

    async markFailed(
      request: MeasurementRequest,
      agent: string,
      startedAt: number,
      error: string,
      now: number,
    ): Promise<void> {
      const state: MeasurementState = { state: 'failed', started_at: startedAt, finished_at: now, error };
      await redis.set(keys.measurementState(agent, request.id), JSON.stringify(state), {
        exat: measurementExpiry(request),
      });
    },

    /**
     * Counts one request of a client in the current fixed window; answers how many it made in it
     * and the seconds until the window ends.
     */
    async countRequest(
      client: string,
      windowS: number,
      now: number,
    ): Promise<{ count: number; resetInS: number }> {
      const window = Math.floor(now / 1000 / windowS);
      const key = keys.measureRate(client, window);
      const p = redis.pipeline();
      p.incr(key);
      p.expire(key, windowS * 2);
      const [count] = (await p.exec()) as [number, number];
      const resetInS = Math.max(1, Math.ceil((window + 1) * windowS - now / 1000));
      return { count: Number(count), resetInS };
    },
  };
}

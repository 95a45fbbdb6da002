import { type MeasurementRequest, parseMeasurementMessage } from '../../shared/measurement-schema.ts';
import { JOB_LIMITS } from '../../shared/schema.ts';
import type { Store } from '../../shared/store.ts';
import { probeFigures } from '../icmp/probe-figures.ts';
import type { ProbeEngine } from '../icmp/types.ts';
import type { Logger } from './logger.ts';

// On-demand measurements on the agent (issue 13). The API announces a measurement on the config
// channel with the agents it chose; a chosen agent reads the request, probes through the daemon's
// one engine (so the packets share the global budget with the jobs) and writes its state and
// figures under the measurement's own keys. Nothing here touches the jobs' statuses, history or
// err list. A failure is data: it is written as the `failed` state, never thrown.
//
// Pub/sub keeps nothing for an agent that is not listening (starting up, its stream being
// re-opened), so each time the agent subscribes it catches up: one read of the ids still before
// their deadline, one MGET of those it has not seen, and the ones that chose this process run as
// if pushed. While the stream stays up, catching up costs nothing.

export interface MeasurementRunnerOptions {
  agent: string;
  store: Pick<Store, 'measurements'>;
  engine: Pick<ProbeEngine, 'probe'>;
  log: Logger;
  /**
   * The `started_at` of this process's heartbeat. A measurement that chose another process of this
   * agent (the one before a restart) is not run: the API already reports it failed.
   */
  startedAt?: string;
  /** ICMP payload bytes, as the jobs' default. */
  size?: number;
  now?: () => number;
}

/** Ids remembered so that a measurement both pushed and caught up (or pushed twice) runs once. */
const REMEMBERED = 1_000;
/** Requests read per MGET when catching up: each may list a thousand targets. */
const CATCH_UP_BATCH = 25;

export class MeasurementRunner {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly seen = new Set<string>();
  private stopped = false;

  constructor(private readonly o: MeasurementRunnerOptions) {}

  /** True when the message announced a measurement (started here if this agent was chosen). */
  onMessage(message: unknown): boolean {
    const m = parseMeasurementMessage(message);
    if (!m) return false;
    if (this.stopped || !m.agents.includes(this.o.agent) || this.seen.has(m.id)) return true;
    this.remember(m.id);
    this.start(m.id);
    return true;
  }

  /**
   * Runs the measurements announced while this agent was not listening and still before their
   * deadline (past it the API already answers `failed`, and figures written later would change a
   * measurement it called done); called each time the subscription is confirmed, so anything
   * announced after that read arrives as a push. Answers how many it started.
   */
  async catchUp(): Promise<number> {
    if (this.stopped) return 0;
    const { store, log } = this.o;
    const now = this.o.now ?? Date.now;
    let ids: string[];
    try {
      ids = await store.measurements.pending(now());
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'cannot read the pending measurements');
      return 0;
    }
    // Remembered before the MGET, so a push of the same id meanwhile does not run it twice.
    const unseen = ids.filter((id) => !this.seen.has(id));
    for (const id of unseen) this.remember(id);
    const started: string[] = [];
    for (let i = 0; i < unseen.length; i += CATCH_UP_BATCH) {
      const batch = unseen.slice(i, i + CATCH_UP_BATCH);
      let requests: (MeasurementRequest | null)[];
      try {
        requests = await store.measurements.requests(batch);
      } catch (error) {
        // Forgotten again, so the next subscribe (or a push) can still run them.
        for (const id of unseen.slice(i)) this.seen.delete(id);
        log.warn({ err: (error as Error).message }, 'cannot read the pending measurements');
        break;
      }
      if (this.stopped) break;
      for (const [j, request] of requests.entries()) {
        if (!request || !this.chose(request)) continue;
        started.push(batch[j]!);
        this.start(batch[j]!, request);
      }
    }
    if (started.length > 0) {
      log.info({ measurements: started }, 'caught up on measurements announced while not listening');
    }
    return started.length;
  }

  /** Takes no new measurement and waits for the ones under way to write their results. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.inFlight);
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.values().next().value!);
  }

  private start(id: string, request?: MeasurementRequest): void {
    const run = this.run(id, request).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  /** True when the request chose this agent, and this process of it when that is known. */
  private chose(request: MeasurementRequest): boolean {
    const { agent, startedAt } = this.o;
    return request.agents.some(
      (a) => a.name === agent && (startedAt === undefined || a.started_at === startedAt),
    );
  }

  private async run(id: string, given?: MeasurementRequest): Promise<void> {
    const { agent, store, log } = this.o;
    const now = this.o.now ?? Date.now;
    let request = given ?? null;
    if (!request) {
      try {
        request = await store.measurements.request(id);
      } catch (error) {
        // Nothing can be written either; the API fails it at its deadline.
        log.warn({ measurement: id, err: (error as Error).message }, 'cannot read the measurement');
        return;
      }
    }
    if (!request || !this.chose(request)) return;
    const startedAt = now();
    try {
      await store.measurements.markRunning(request, agent, startedAt);
      const results = await this.o.engine.probe(request.targets, {
        count: request.count,
        periodMs: request.interval_ms,
        timeoutMs: request.timeout_ms,
        size: this.o.size ?? JOB_LIMITS.size.default,
      });
      await store.measurements.markFinished(request, agent, startedAt, results.map(probeFigures), now());
      log.info({ measurement: id, targets: results.length, ms: now() - startedAt }, 'measurement finished');
    } catch (error) {
      const message = (error as Error).message;
      log.warn({ measurement: id, err: message }, 'measurement failed');
      await store.measurements
        .markFailed(request, agent, startedAt, message.slice(0, 300), now())
        .catch(() => {});
    }
  }
}

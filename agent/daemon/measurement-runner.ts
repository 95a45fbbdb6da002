import { type MeasurementRequest, parseMeasurementMessage } from '../../shared/measurement-schema.ts';
import type { Store } from '../../shared/store.ts';
import { probeFigures } from '../icmp/probe-figures.ts';
import type { ProbeEngine } from '../icmp/types.ts';
import type { Logger } from './logger.ts';

// On-demand measurements on the agent (issue 13). The API announces a measurement on the config
// channel with the agents it chose; a chosen agent reads the request, probes through the daemon's
// one engine (so the packets share the global budget with the jobs) and writes its state and
// figures under the measurement's own keys. Nothing here touches the jobs' statuses, history or
// err list. A failure is data: it is written as the `failed` state, never thrown.

export interface MeasurementRunnerOptions {
  agent: string;
  store: Pick<Store, 'measurements'>;
  engine: Pick<ProbeEngine, 'probe'>;
  log: Logger;
  /** ICMP payload bytes, as the jobs' default. */
  size?: number;
  now?: () => number;
}

/** Ids remembered so that a message seen twice (a resubscribe, a retried publish) runs once. */
const REMEMBERED = 1_000;

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
    this.seen.add(m.id);
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.values().next().value!);
    const run = this.run(m.id).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
    return true;
  }

  /** Takes no new measurement and waits for the ones under way to write their results. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.inFlight);
  }

  private async run(id: string): Promise<void> {
    const { agent, store, log } = this.o;
    const now = this.o.now ?? Date.now;
    let request: MeasurementRequest | null;
    try {
      request = await store.measurements.request(id);
    } catch (error) {
      // Nothing can be written either; the API fails it at its deadline.
      log.warn({ measurement: id, err: (error as Error).message }, 'cannot read the measurement');
      return;
    }
    if (!request?.agents.some((a) => a.name === agent)) return;
    const startedAt = now();
    try {
      await store.measurements.markRunning(request, agent, startedAt);
      const results = await this.o.engine.probe(request.targets, {
        count: request.count,
        periodMs: request.interval_ms,
        timeoutMs: request.timeout_ms,
        size: this.o.size ?? 56,
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

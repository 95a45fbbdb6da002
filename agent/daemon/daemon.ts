import { hostname } from 'node:os';
import { blockStartOf } from '../../shared/history-blocks.ts';
import { shapeOf } from '../../shared/store/history.ts';
import { createStore, type Store } from '../../shared/store.ts';
import type { ProbeEngine } from '../icmp/types.ts';
import { VERSION } from '../version.ts';
import { Backoff, sleep } from './backoff.ts';
import type { AgentConfig } from './config.ts';
import { ConfigWatch } from './config-watch.ts';
import { openEngine } from './engine-loader.ts';
import { ErrList } from './err-list.ts';
import { HistoryBuckets } from './history-buckets.ts';
import { IpStateTable } from './ip-state.ts';
import { ERR_LIST_JOB, JobRunner } from './job-run.ts';
import { type JobPlan, nextJobSet, planOf } from './job-set.ts';
import type { Logger } from './logger.ts';
import { MeasurementRunner } from './measurement-runner.ts';
import { AgentMetrics, serveMetrics } from './metrics.ts';
import { PendingBlocks } from './pending-blocks.ts';
import { createRedisClient, isRetryable } from './redis-client.ts';
import { ResultWriter } from './result-writer.ts';
import { Scheduler } from './scheduler.ts';
import { Spool } from './spool.ts';
import { WrittenStatuses } from './written-statuses.ts';

// The agent daemon, start to stop:
//   start   open the spool and the ICMP sockets, wait for Redis, register, replay what the spool
//           holds, read back its own statuses and err list so counts continue
//   run     heartbeat; jobs from Redis on croner schedules, re-read when a change is pushed (or the
//           slow poll sees the config version move, or the periodic re-read); the built-in err-list job
//   stop    stop the schedules, let the running probes finish, flush, delete the heartbeat

export interface DaemonOptions {
  config: AgentConfig;
  log: Logger;
  /** Stops the daemon when aborted (SIGTERM/SIGINT in the CLI). */
  signal: AbortSignal;
  engine?: ProbeEngine;
}

/** Resolves after a clean stop; rejects when a step of the stop failed (results may be lost). */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const stopFailures: string[] = [];
  await runUntilStopped(options, stopFailures);
  // Thrown only now, so that every step of the stop ran first.
  if (stopFailures.length > 0) throw new Error(`stopped, but not cleanly: ${stopFailures.join('; ')}`);
}

async function runUntilStopped(
  { config, log, signal, engine: givenEngine }: DaemonOptions,
  stopFailures: string[],
): Promise<void> {
  const startedAt = new Date().toISOString();
  const spool = await Spool.open(config.spoolDir, config.spoolMaxBytes, log);
  const engine = givenEngine ?? (await openEngine({ ratePps: config.ratePps }));
  const { redis, counters } = createRedisClient(config.redisUrl, config.redisToken, config.requestTimeoutMs);
  const store = createStore(redis, { prefix: config.keyPrefix });
  const writer = new ResultWriter(redis, spool, log);
  const ipState = new IpStateTable(config.cleanWindowS);
  const errList = new ErrList(config.cleanWindowS * 1000);
  const history = new HistoryBuckets();
  const blocks = new PendingBlocks(config.name, store.keys);
  const written = new WrittenStatuses(config.statusRefreshS * 1000);
  const timers: NodeJS.Timeout[] = [];
  let stopWatch = () => {};
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | null = null;

  const jobs: Scheduler = new Scheduler(
    async (plan, scheduledAt): Promise<void> => logRun(await runner.run(plan, scheduledAt)),
    (plan, error) => {
      metrics.recordFailedRun(plan.name);
      log.error({ job: plan.name, err: (error as Error).message }, 'job run failed');
    },
  );
  const errJob: Scheduler = new Scheduler(
    async (plan, scheduledAt): Promise<void> => {
      if (errList.size > 0) logRun(await runner.runErrList(plan, scheduledAt));
    },
    (_plan, error) => {
      metrics.recordFailedRun(ERR_LIST_JOB);
      log.error({ job: ERR_LIST_JOB, err: (error as Error).message }, 'err-list run failed');
    },
  );
  const metrics: AgentMetrics = new AgentMetrics(config.name, {
    spoolBatches: () => spool.stats().batches,
    spoolBytes: () => spool.stats().bytes,
    spoolDropped: () => spool.stats().droppedBatches,
    spoolBad: () => spool.stats().badBatches,
    writeFailures: () => writer.stats.writeFailures,
    requests: () => counters.requests,
    commands: () => counters.commands,
    errListSize: () => errList.size,
    targets: () => ipState.size,
    skippedRuns: (): number => jobs.skippedRuns + errJob.skippedRuns,
  });
  if (config.metricsTargets > 0)
    metrics.enableTargetSeries(config.metricsTargets, (message) => log.warn(message));
  // On-demand measurements share the engine (and so the packet budget) with the jobs, nothing else.
  const measurements = new MeasurementRunner({ agent: config.name, startedAt, store, engine, log });
  const runner: JobRunner = new JobRunner({
    agent: config.name,
    store,
    engine,
    writer,
    ipState,
    errList,
    history,
    blocks,
    written,
    plans: () => jobs.plans().values(),
    metrics,
    log,
  });

  function logRun(summary: Awaited<ReturnType<JobRunner['run']>>): void {
    const stats = spool.stats();
    log.info({ ...summary, spooled: stats.batches, spool_dropped: stats.droppedBatches }, 'job run');
  }

  try {
    if (!(await startUp(store, config, log, signal, writer, { ipState, errList, written, blocks }))) return;

    const heartbeat = async () => {
      try {
        await store.agents.heartbeat(
          config.name,
          {
            version: VERSION,
            hostname: hostname(),
            pid: process.pid,
            started_at: startedAt,
            jobs: jobs.names(),
            updated_at: new Date().toISOString(),
          },
          config.heartbeatTtlS,
        );
      } catch (error) {
        log.warn({ err: (error as Error).message }, 'heartbeat failed');
      }
    };

    const watch = new ConfigWatch({
      redis,
      store,
      log,
      pollMs: config.configPollMs,
      resyncMs: config.resyncS * 1000,
      onMessage: (message) => measurements.onMessage(message),
      onSubscribed: () => void measurements.catchUp(),
      apply: async (reason) => {
        await syncJobs(store, config.name, jobs, log, reason);
        runner.membersChanged();
        await runner.pruneNow();
      },
    });
    stopWatch = () => watch.stop();
    await watch.start();
    // After the first sync, so the first heartbeat already lists the jobs.
    await heartbeat();
    timers.push(setInterval(heartbeat, config.heartbeatEveryS * 1000));
    errJob.reconcile(
      new Map([
        [ERR_LIST_JOB, planOf(ERR_LIST_JOB, { SPEC: config.errSpec, name: ERR_LIST_JOB, group: [] })],
      ]),
    );

    if (config.metricsAddr) {
      metricsServer = await serveMetrics(metrics, config.metricsAddr.host, config.metricsAddr.port);
      log.info({ port: metricsServer.port }, 'metrics served at /metrics');
    }
    log.info(
      { version: VERSION, jobs: jobs.names(), statuses: ipState.size, err_list: errList.size },
      'agent running',
    );
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    const stopStarted = Date.now();
    // Every step runs even when one before it failed: a step skipped would leave the replay loop,
    // the sockets or the metrics server holding a stopped process open.
    const step = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        log.error({ err: (error as Error).message }, `stop: ${what} failed`);
        stopFailures.push(`${what}: ${(error as Error).message}`);
      }
    };
    for (const timer of timers) clearInterval(timer);
    stopWatch();
    await step('waiting for the runs in flight', () =>
      Promise.all([jobs.stop(), errJob.stop(), measurements.stop()]),
    );
    await step('saving the open history blocks and the newest counts', () =>
      writer.write(runner.finalCommands(Date.now())),
    );
    await step('flushing the results', () => writer.close());
    try {
      await store.agents.goOffline(config.name);
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'cannot delete the heartbeat; it will expire');
    }
    await step('closing the ICMP sockets', () => engine.close());
    if (metricsServer) {
      const { server } = metricsServer;
      await step('closing the metrics server', () => {
        const closed = new Promise((resolve) => server.close(resolve));
        server.closeAllConnections();
        return closed;
      });
    }
    log.info({ ms: Date.now() - stopStarted, spooled: spool.stats().batches }, 'agent stopped');
  }
}

/** Waits for Redis, registers, replays the spool and reads back state. False when stopped meanwhile. */
async function startUp(
  store: Store,
  config: AgentConfig,
  log: Logger,
  signal: AbortSignal,
  writer: ResultWriter,
  state: { ipState: IpStateTable; errList: ErrList; written: WrittenStatuses; blocks: PendingBlocks },
): Promise<boolean> {
  const { ipState, errList, written, blocks } = state;
  const backoff = new Backoff({ baseMs: 500, capMs: 30_000 });
  for (;;) {
    if (signal.aborted) return false;
    try {
      await store.agents.register(config.name);
      // Old results first: the statuses read back below must be the newest ones.
      if (!(await writer.drainOnce())) throw new Error('the spool could not be replayed yet');
      let cursor = '0';
      const ips: string[] = [];
      do {
        const page = await store.statuses.page(config.name, cursor, 1_000);
        for (const status of page.statuses) {
          ipState.seed(status);
          written.seed(status);
          ips.push(status.ip);
        }
        cursor = page.cursor;
      } while (cursor !== '0');
      // The history blocks a previous process left open, to carry on rather than overwrite.
      const nowSec = Math.floor(Date.now() / 1000);
      for (const resolution of ['minute', 'hour'] as const) {
        const open = await store.history.openBlocks(config.name, ips, resolution, nowSec);
        open.forEach((points, i) => {
          if (points)
            blocks.seed(ips[i]!, resolution, points, blockStartOf(shapeOf(resolution), ips[i]!, nowSec));
        });
      }
      errList.seed(await store.statuses.errList(config.name), Date.now());
      return true;
    } catch (error) {
      const wait = backoff.next();
      const level = isRetryable(error) ? 'warn' : 'error';
      log[level](
        { err: (error as Error).message, retry_in_ms: wait },
        'cannot start against Redis yet; retrying',
      );
      if (!(await sleep(wait, signal))) return false;
    }
  }
}

async function syncJobs(
  store: Store,
  agent: string,
  scheduler: Scheduler,
  log: Logger,
  reason: string,
): Promise<void> {
  const stored = await store.jobs.list(agent);
  const groups = [...new Set(stored.flatMap((s) => s.job?.group ?? []))];
  const existing = await store.groups.existing(groups);
  const { plans, problems } = nextJobSet(stored, existing, scheduler.plans());
  for (const p of problems) {
    log.error({ job: p.name, problem: p.problem, kept_previous: p.keptPrevious }, 'job skipped');
  }
  const change = scheduler.reconcile(plans as Map<string, JobPlan>);
  if (change.added.length + change.changed.length + change.removed.length > 0) {
    log.info({ reason, ...change, jobs: scheduler.names() }, 'jobs reconciled');
  }
}

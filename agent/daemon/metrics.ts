import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// Prometheus metrics in the text exposition format, written by hand: a few counters and one
// histogram do not need a client library. Labels are agent and job only (per-IP series would grow
// with the targets); reasons for errors are separate metric names, not a label.

const RTT_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface JobSeries {
  sent: number;
  received: number;
  lost: number;
  unreachable: number;
  ttlExceeded: number;
  runs: number;
  runSeconds: number;
  failedRuns: number;
  rttBuckets: number[];
  rttCount: number;
  rttSum: number;
}

export interface GaugeSource {
  spoolBatches(): number;
  spoolBytes(): number;
  spoolDropped(): number;
  spoolBad(): number;
  writeFailures(): number;
  requests(): number;
  commands(): number;
  errListSize(): number;
  targets(): number;
  skippedRuns(): number;
}

/** One (group, target) pair's latest figures, for the opt-in per-target series. */
interface TargetFigures {
  group: string;
  target: string;
  loss: number | null;
  rttSeconds: number | null;
}

export class AgentMetrics {
  private readonly jobs = new Map<string, JobSeries>();
  private readonly targets = new Map<string, TargetFigures>();
  private targetLimit = 0;
  private cut = new Set<string>();
  private onCut: (message: string) => void = () => {};

  constructor(
    private readonly agent: string,
    private readonly gauges: GaugeSource,
  ) {}

  recordRun(job: string, seconds: number): void {
    const s = this.series(job);
    s.runs += 1;
    s.runSeconds += seconds;
  }

  /** A run that threw: its results, or some of them, were neither written nor spooled. */
  recordFailedRun(job: string): void {
    this.series(job).failedRuns += 1;
  }

  recordTarget(
    job: string,
    sent: number,
    received: number,
    rttsMs: readonly number[],
    unreachable: boolean,
    ttlExceeded: boolean,
  ): void {
    const s = this.series(job);
    s.sent += sent;
    s.received += received;
    if (received < sent) {
      if (unreachable) s.unreachable += sent - received;
      else if (ttlExceeded) s.ttlExceeded += sent - received;
      else s.lost += sent - received;
    }
    for (const ms of rttsMs) {
      const seconds = ms / 1000;
      s.rttCount += 1;
      s.rttSum += seconds;
      for (let i = 0; i < RTT_BUCKETS_S.length; i++) if (seconds <= RTT_BUCKETS_S[i]!) s.rttBuckets[i]! += 1;
    }
  }

  /**
   * Exports per-target series (loss ratio and RTT labelled target and group), at most `limit`
   * (group, target) pairs: each pair is a series a Prometheus server keeps, so the count is capped
   * and `onCut` says, once per run that cut anything, how many pairs were left out.
   */
  enableTargetSeries(limit: number, onCut: (message: string) => void): void {
    this.targetLimit = limit;
    this.onCut = onCut;
  }

  /** Whether per-target series are exported: callers skip gathering figures when they are not. */
  get targetSeries(): boolean {
    return this.targetLimit > 0;
  }

  /** The latest figures of targets of one group (what the agent last wrote for them). */
  recordTargetFigures(
    group: string,
    figures: readonly { target: string; loss: number | null; rttMs: number | null }[],
  ): void {
    if (this.targetLimit === 0) return;
    const before = this.cut.size;
    for (const f of figures) {
      const key = `${group}\u0000${f.target}`;
      if (!this.targets.has(key) && this.targets.size >= this.targetLimit) {
        this.cut.add(key);
        continue;
      }
      this.targets.set(key, {
        group,
        target: f.target,
        loss: f.loss,
        rttSeconds: f.rttMs === null ? null : f.rttMs / 1000,
      });
      this.cut.delete(key);
    }
    if (this.cut.size > before) {
      this.onCut(
        `per-target metrics are capped at ${this.targetLimit} (group, target) pairs (PING_AGENT_METRICS_TARGETS); ${this.cut.size} pair(s) are not exported`,
      );
    }
  }

  /** Drops the series of pairs no job probes any more. */
  retainTargets(keep: (group: string, target: string) => boolean): void {
    for (const [key, t] of this.targets) if (!keep(t.group, t.target)) this.targets.delete(key);
    for (const key of this.cut) {
      const [group, target] = key.split('\u0000') as [string, string];
      if (!keep(group, target)) this.cut.delete(key);
    }
  }

  private series(job: string): JobSeries {
    let s = this.jobs.get(job);
    if (!s) {
      s = {
        sent: 0,
        received: 0,
        lost: 0,
        unreachable: 0,
        ttlExceeded: 0,
        runs: 0,
        runSeconds: 0,
        failedRuns: 0,
        rttBuckets: RTT_BUCKETS_S.map(() => 0),
        rttCount: 0,
        rttSum: 0,
      };
      this.jobs.set(job, s);
    }
    return s;
  }

  render(): string {
    const lines: string[] = [];
    const agent = `agent="${escapeLabel(this.agent)}"`;
    const perJob = (name: string, type: string, help: string, pick: (s: JobSeries) => number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [job, s] of this.jobs) lines.push(`${name}{${agent},job="${escapeLabel(job)}"} ${pick(s)}`);
    };
    perJob('ping_agent_probes_sent_total', 'counter', 'ICMP echo requests sent.', (s) => s.sent);
    perJob('ping_agent_probes_received_total', 'counter', 'ICMP echo replies counted.', (s) => s.received);
    perJob(
      'ping_agent_probes_timeout_total',
      'counter',
      'Probes with no answer before their timeout.',
      (s) => s.lost,
    );
    perJob(
      'ping_agent_probes_unreachable_total',
      'counter',
      'Probes answered by destination unreachable.',
      (s) => s.unreachable,
    );
    perJob(
      'ping_agent_probes_ttl_exceeded_total',
      'counter',
      'Probes answered by time exceeded.',
      (s) => s.ttlExceeded,
    );
    perJob('ping_agent_job_runs_total', 'counter', 'Job runs finished.', (s) => s.runs);
    perJob(
      'ping_agent_job_run_failures_total',
      'counter',
      'Job runs that failed, so that some of their results were lost.',
      (s) => s.failedRuns,
    );
    perJob('ping_agent_job_run_seconds_total', 'counter', 'Time spent in job runs.', (s) => s.runSeconds);

    lines.push(
      '# HELP ping_agent_rtt_seconds Round-trip time of answered probes.',
      '# TYPE ping_agent_rtt_seconds histogram',
    );
    for (const [job, s] of this.jobs) {
      const labels = `${agent},job="${escapeLabel(job)}"`;
      RTT_BUCKETS_S.forEach((le, i) => {
        lines.push(`ping_agent_rtt_seconds_bucket{${labels},le="${le}"} ${s.rttBuckets[i]}`);
      });
      lines.push(`ping_agent_rtt_seconds_bucket{${labels},le="+Inf"} ${s.rttCount}`);
      lines.push(`ping_agent_rtt_seconds_sum{${labels}} ${s.rttSum}`);
      lines.push(`ping_agent_rtt_seconds_count{${labels}} ${s.rttCount}`);
    }

    if (this.targetLimit > 0) {
      const perTarget = (name: string, help: string, pick: (t: TargetFigures) => number | null) => {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
        for (const t of this.targets.values()) {
          const value = pick(t);
          if (value === null) continue;
          lines.push(
            `${name}{${agent},group="${escapeLabel(t.group)}",target="${escapeLabel(t.target)}"} ${value}`,
          );
        }
      };
      perTarget(
        'ping_agent_target_loss_ratio',
        'Loss of the target as /v1/check judges it (0..1), from its latest status.',
        (t) => t.loss,
      );
      perTarget(
        'ping_agent_target_rtt_seconds',
        'Average RTT of the target, from its latest status.',
        (t) => t.rttSeconds,
      );
      lines.push(
        '# HELP ping_agent_target_series_cut Target/group pairs left out by the PING_AGENT_METRICS_TARGETS cap.',
        '# TYPE ping_agent_target_series_cut gauge',
        `ping_agent_target_series_cut{${agent}} ${this.cut.size}`,
      );
    }

    const single = (name: string, type: string, help: string, value: number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${agent}} ${value}`);
    };
    const g = this.gauges;
    single(
      'ping_agent_spool_batches',
      'gauge',
      'Result batches waiting on disk for Redis.',
      g.spoolBatches(),
    );
    single('ping_agent_spool_bytes', 'gauge', 'Bytes waiting on disk for Redis.', g.spoolBytes());
    single(
      'ping_agent_spool_dropped_batches_total',
      'counter',
      'Result batches lost: the oldest dropped past the spool budget, and any that could not be written to or read from the spool.',
      g.spoolDropped(),
    );
    single(
      'ping_agent_spool_bad_batches_total',
      'counter',
      'Spool files that were not a valid result batch, renamed to *.bad and not replayed.',
      g.spoolBad(),
    );
    single(
      'ping_agent_redis_write_failures_total',
      'counter',
      'Result writes that failed.',
      g.writeFailures(),
    );
    single(
      'ping_agent_redis_requests_total',
      'counter',
      'HTTP requests to the Redis REST endpoint.',
      g.requests(),
    );
    single('ping_agent_redis_commands_total', 'counter', 'Redis commands sent.', g.commands());
    single('ping_agent_err_list_size', 'gauge', 'IPs on the err list.', g.errListSize());
    single('ping_agent_targets', 'gauge', 'IPs with a known state.', g.targets());
    single(
      'ping_agent_skipped_runs_total',
      'counter',
      'Runs skipped because the previous run of the job was still going.',
      g.skippedRuns(),
    );
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export async function serveMetrics(
  metrics: AgentMetrics,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metrics.render());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

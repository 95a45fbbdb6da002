import { type ResultCommand, resultCommands } from '../../shared/store/results.ts';
import type { Store } from '../../shared/store.ts';
import type { ProbeEngine } from '../icmp/types.ts';
import type { ErrList, ErrListChange } from './err-list.ts';
import type { FinishedPoint, HistoryBuckets } from './history-buckets.ts';
import type { IpStateTable } from './ip-state.ts';
import type { JobPlan } from './job-set.ts';
import type { Logger } from './logger.ts';
import type { AgentMetrics } from './metrics.ts';
import { MAX_COMMANDS_PER_REQUEST, type ResultWriter } from './result-writer.ts';

// One job run: resolve the groups to IPs now (so group edits apply without a restart), probe them
// through the shared engine, fold the results into the per-IP state, the err list and the history
// buckets, and hand one list of commands to the writer. Each IP costs one SET per run, plus a ZADD
// when a minute closes and a few commands when an hour closes.

/** Statuses outlive the gap between two runs several times over, but vanish once nothing probes the IP. */
export function statusExpiry(intervalS: number): number {
  return Math.max(300, intervalS * 3);
}

export const ERR_LIST_JOB = 'err-list';

export interface RunSummary {
  job: string;
  targets: number;
  sent: number;
  received: number;
  commands: number;
  errAdded: number;
  errRemoved: number;
  ms: number;
  /** How late the run started against its schedule (spread offset included), ms. */
  lagMs: number;
}

export interface JobRunnerDeps {
  agent: string;
  store: Store;
  engine: ProbeEngine;
  writer: ResultWriter;
  ipState: IpStateTable;
  errList: ErrList;
  history: HistoryBuckets;
  metrics: AgentMetrics;
  log: Logger;
  now?: () => number;
}

export class JobRunner {
  private readonly build;
  private readonly lastMembers = new Map<string, string[]>();
  private readonly now: () => number;

  constructor(private readonly deps: JobRunnerDeps) {
    this.build = resultCommands(deps.store);
    this.now = deps.now ?? Date.now;
  }

  /** The IPs of the groups, read now; the last known members when Redis does not answer. */
  async resolve(groups: readonly string[]): Promise<string[]> {
    try {
      const members = await this.deps.store.groups.members(groups);
      for (const [group, ips] of members) this.lastMembers.set(group, ips);
    } catch (error) {
      this.deps.log.warn(
        { err: (error as Error).message, groups },
        'cannot read groups; probing their last known members',
      );
    }
    const ips = new Set<string>();
    for (const group of groups) for (const ip of this.lastMembers.get(group) ?? []) ips.add(ip);
    return [...ips];
  }

  /**
   * The IPs the given jobs probe, as last resolved; null while a group has not been read yet (just
   * after a start), when that cannot be told.
   */
  targetsOf(plans: Iterable<JobPlan>): Set<string> | null {
    const ips = new Set<string>();
    for (const plan of plans) {
      for (const group of plan.groups) {
        const members = this.lastMembers.get(group);
        if (!members) return null;
        for (const ip of members) ips.add(ip);
      }
    }
    return ips;
  }

  async run(plan: JobPlan, scheduledAt: Date): Promise<RunSummary> {
    const started = this.now();
    const ips = await this.resolve(plan.groups);
    return this.probeAndRecord(plan.name, ips, plan, statusExpiry(plan.intervalS), started, scheduledAt);
  }

  /**
   * The built-in job: the err list's IPs, at its own cadence. An IP that no job probes any more
   * (its group changed, its job was removed) leaves the list first, so that a target taken out of
   * service is not probed, kept alive and listed for ever.
   */
  async runErrList(
    plan: JobPlan,
    scheduledAt: Date,
    probed: ReadonlySet<string> | null,
  ): Promise<RunSummary> {
    const started = this.now();
    const dropped: ErrListChange = { added: [], removed: [] };
    if (probed) this.deps.errList.forget(probed, dropped);
    return this.probeAndRecord(
      ERR_LIST_JOB,
      this.deps.errList.members(),
      plan,
      0,
      started,
      scheduledAt,
      dropped,
    );
  }

  private async probeAndRecord(
    job: string,
    ips: string[],
    plan: JobPlan,
    expireS: number,
    started: number,
    scheduledAt: Date,
    change: ErrListChange = { added: [], removed: [] },
  ): Promise<RunSummary> {
    const { agent, engine, ipState, errList, history, metrics } = this.deps;
    const results =
      ips.length === 0
        ? []
        : await engine.probe(ips, {
            count: plan.count,
            periodMs: 1_000,
            timeoutMs: plan.timeoutMs,
            size: plan.size,
          });
    const nowMs = this.now();
    const nowSec = Math.floor(nowMs / 1000);
    // Commands go to the writer a request's worth at a time, so a run over 100,000 targets never
    // holds all its statuses as JSON at once, and each request is still a full one.
    let pending: ResultCommand[] = [];
    let commandCount = 0;
    const emit = async (more: ResultCommand[]) => {
      for (const command of more) pending.push(command);
      if (pending.length >= MAX_COMMANDS_PER_REQUEST) {
        const full = pending.slice(0, MAX_COMMANDS_PER_REQUEST);
        pending = pending.slice(MAX_COMMANDS_PER_REQUEST);
        commandCount += full.length;
        await this.deps.writer.write(full);
      }
    };
    const finished: FinishedPoint[] = [];
    let sent = 0;
    let received = 0;
    for (const result of results) {
      sent += result.sent;
      received += result.received;
      const status = ipState.record(result, nowMs, expireS);
      errList.observe(result.ip, result.sent, result.received, nowMs, change);
      history.add(result.ip, result.sent, result.rttsMs, nowSec, finished);
      metrics.recordTarget(
        job,
        result.sent,
        result.received,
        result.rttsMs,
        result.unreachable !== null,
        result.ttlExceeded !== null,
      );
      const expiry = Math.max(ipState.expireOf(result.ip), statusExpiry(plan.intervalS));
      await emit([this.build.status(agent, status, expiry), ...this.historyCommands(finished, nowSec)]);
      finished.length = 0;
    }
    const tail: ResultCommand[] = [];
    if (change.added.length > 0) tail.push(this.build.errAdd(agent, change.added));
    if (change.removed.length > 0) tail.push(this.build.errRemove(agent, change.removed));
    await emit(tail);
    commandCount += pending.length;
    await this.deps.writer.write(pending);
    const ms = this.now() - started;
    metrics.recordRun(job, ms / 1000);
    return {
      job,
      targets: ips.length,
      sent,
      received,
      commands: commandCount,
      errAdded: change.added.length,
      errRemoved: change.removed.length,
      ms,
      lagMs: started - scheduledAt.getTime(),
    };
  }

  historyCommands(finished: readonly FinishedPoint[], nowSec: number): ResultCommand[] {
    const { agent } = this.deps;
    const commands: ResultCommand[] = [];
    for (const { ip, resolution, point } of finished) {
      commands.push(this.build.historyPoint(agent, ip, resolution, point));
      // Trimming once an hour per IP keeps both sets capped at a small cost per run.
      if (resolution === 'hour') {
        commands.push(...this.build.historyTrim(agent, ip, 'minute', nowSec));
        commands.push(...this.build.historyTrim(agent, ip, 'hour', nowSec));
      }
    }
    return commands;
  }
}

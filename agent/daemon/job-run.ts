import type { IpStatus } from '../../shared/schema.ts';
import { blockKeys } from '../../shared/store/history.ts';
import { delCommands, msetCommands, type ResultCommand, resultCommands } from '../../shared/store/results.ts';
import type { Store } from '../../shared/store.ts';
import { statusLoss } from '../../shared/summary/status-figures.ts';
import { SummaryBook } from '../../shared/summary/summary-book.ts';
import type { ProbeEngine } from '../icmp/types.ts';
import type { ErrList, ErrListChange } from './err-list.ts';
import type { FinishedPoint, HistoryBuckets } from './history-buckets.ts';
import type { IpStateTable } from './ip-state.ts';
import type { JobPlan } from './job-set.ts';
import type { Logger } from './logger.ts';
import type { AgentMetrics } from './metrics.ts';
import type { Entry, PendingBlocks } from './pending-blocks.ts';
import type { ResultWriter } from './result-writer.ts';
import type { WrittenStatuses } from './written-statuses.ts';

// One job run: take the groups' members (read again only after the configuration changed), probe
// them through the shared engine, fold the results into the per-IP state, the err list and the
// history, and hand the writer one MSET (more only past ~800 KB) plus SADD/SREM when the err list
// changed and DEL for what no job probes any more. Upstash bills an MSET as one command whatever
// its size, so a healthy job costs one command per run, whatever its number of targets.

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
  blocks: PendingBlocks;
  written: WrittenStatuses;
  /** The job plans in force (to tell which IPs no job probes any more). */
  plans: () => Iterable<JobPlan>;
  metrics: AgentMetrics;
  log: Logger;
  now?: () => number;
}

export class JobRunner {
  private readonly build;
  private readonly lastMembers = new Map<string, string[]>();
  private readonly now: () => number;
  /** The agent's summaries of its groups (what /v1/check reads first). */
  private readonly summaries: SummaryBook;

  constructor(private readonly deps: JobRunnerDeps) {
    this.summaries = new SummaryBook(deps.agent, deps.store.keys);
    this.build = resultCommands(deps.store);
    this.now = deps.now ?? Date.now;
  }

  /** Groups whose members were read since the configuration last changed. */
  private readonly freshGroups = new Set<string>();
  /** Counts the reads of group members: a run's IPs are still its groups' members while it stands. */
  private membersRead = 0;
  /**
   * The jobs' groups and members (read count) at the last complete clean-up. While they stand and
   * every run since recorded only IPs they cover, nothing can have gone, and the clean-up's walk
   * over every IP is skipped; a run that may have recorded others clears it.
   */
  private cleanedFor: string | null = null;

  /** The configuration changed (pushed or polled): members are read again at each group's next run. */
  membersChanged(): void {
    this.freshGroups.clear();
  }

  /** The IPs of the groups; read from Redis only after a change, the last known members otherwise. */
  private async resolve(groups: readonly string[]): Promise<string[]> {
    const toRead = groups.filter((g) => !this.freshGroups.has(g));
    try {
      if (toRead.length > 0) {
        const members = await this.deps.store.groups.members(toRead);
        for (const [group, ips] of members) {
          this.lastMembers.set(group, ips);
          this.freshGroups.add(group);
        }
        this.membersRead++;
      }
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
  private targetsOf(plans: Iterable<JobPlan>): Set<string> | null {
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
    const read = this.membersRead;
    // The IPs are members of groups the jobs in force cover, as last read (checked after probing).
    const covered = () => {
      const groups = this.jobGroups();
      return read === this.membersRead && plan.groups.every((g) => groups.has(g));
    };
    return this.probeAndRecord(plan.name, ips, plan, started, scheduledAt, covered);
  }

  /** The built-in job: the err list's IPs, at its own cadence. */
  async runErrList(plan: JobPlan, scheduledAt: Date): Promise<RunSummary> {
    const started = this.now();
    const { errList } = this.deps;
    const ips = errList.members();
    // An IP that left the list while it was probed may be one a clean-up just forgot.
    const covered = () => ips.every((ip) => errList.has(ip));
    return this.probeAndRecord(ERR_LIST_JOB, ips, plan, started, scheduledAt, covered);
  }

  /** The groups of the jobs in force. */
  private jobGroups(): Set<string> {
    const groups = new Set<string>();
    for (const plan of this.deps.plans()) for (const group of plan.groups) groups.add(group);
    return groups;
  }

  /**
   * What the agent wrote for IPs no job probes any more (their group changed, their job was
   * removed): the statuses and history are deleted and the IP leaves the err list, so a target
   * taken out of service is neither probed, nor listed, nor shown as fresh for ever. Nothing
   * while a group has not been read yet (just after a start), when that cannot be told.
   */
  private stale(change: ErrListChange): ResultCommand[] {
    const { agent, store, written, errList, ipState, history, blocks } = this.deps;
    const groups = this.jobGroups();
    const state = `${this.membersRead}\u0000${[...groups].sort().join('\u0000')}`;
    if (state === this.cleanedFor) return [];
    const probed = this.targetsOf(this.deps.plans());
    if (!probed) return [];
    errList.forget(probed, change);
    const gone: string[] = [];
    for (const ip of written.ips()) if (!probed.has(ip)) gone.push(ip);
    for (const ip of gone) {
      written.forget(ip);
      ipState.forget(ip);
      history.forget(ip);
      blocks.forget(ip);
    }
    this.cleanedFor = state;
    // The per-target series too: a target no longer probed must not be exported at its last figures.
    this.deps.metrics.retainTargets(this.probedPair(groups));
    return delCommands([
      ...gone.flatMap((ip) => [store.keys.ipStatus(agent, ip), ...blockKeys(store.keys, agent, ip)]),
      // Summaries of groups no job covers any more: a check must not read them as this agent's view.
      ...this.summaries.retain(groups),
    ]);
  }

  /** Whether a (group, target) pair is probed: a job covers the group, which held the target when last read. */
  private probedPair(groups: ReadonlySet<string>): (group: string, target: string) => boolean {
    // Sets made only for the groups asked about, so nothing is built while the series are off.
    const sets = new Map<string, Set<string>>();
    return (group, target) => {
      if (!groups.has(group)) return false;
      let members = sets.get(group);
      if (!members) {
        members = new Set(this.lastMembers.get(group));
        sets.set(group, members);
      }
      return members.has(target);
    };
  }

  /**
   * The same clean-up outside a run, after the jobs were re-read: when the last job that probed
   * some IPs is removed, no run of it will come to delete them.
   */
  async pruneNow(): Promise<void> {
    const change: ErrListChange = { added: [], removed: [] };
    const commands = this.stale(change);
    if (change.removed.length > 0) commands.push(this.build.errRemove(this.deps.agent, change.removed));
    await this.deps.writer.write(commands);
  }

  private async probeAndRecord(
    job: string,
    ips: string[],
    plan: JobPlan,
    started: number,
    scheduledAt: Date,
    covered: () => boolean,
  ): Promise<RunSummary> {
    const change: ErrListChange = { added: [], removed: [] };
    const { agent, engine, ipState, errList, history, metrics, written, blocks, store } = this.deps;
    const results =
      ips.length === 0
        ? []
        : await engine.probe(ips, {
            count: plan.count,
            periodMs: 1_000,
            timeoutMs: plan.timeoutMs,
            size: plan.size,
          });
    if (results.length > 0 && !covered()) this.cleanedFor = null;
    const nowMs = this.now();
    const nowSec = Math.floor(nowMs / 1000);
    const statusEntries: Entry[] = [];
    const writtenIps: string[] = [];
    const historyEntries: Entry[] = [];
    const finished: FinishedPoint[] = [];
    let sent = 0;
    let received = 0;
    // A run's new IPs (all of them at the first run) grow each table once, to size.
    ipState.expect(results);
    history.expect(results);
    written.expect(results);
    for (const result of results) {
      sent += result.sent;
      received += result.received;
      const status = ipState.record(result, nowMs);
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
      const due = written.isDue(status, nowMs);
      written.record(status, nowMs, due);
      if (due) {
        statusEntries.push([store.keys.ipStatus(agent, status.ip), JSON.stringify(status)]);
        writtenIps.push(status.ip);
      }
    }
    blocks.add(finished, historyEntries);
    // Off by default: then no figures list is built per target per run.
    for (const group of metrics.targetSeries ? plan.groups : []) {
      metrics.recordTargetFigures(
        group,
        (this.membersOf(group) ?? []).flatMap((target) => {
          const status = written.get(target);
          return status ? [{ target, loss: statusLoss(status), rttMs: status.rtt_avg_ms ?? null }] : [];
        }),
      );
    }
    const dels = job === ERR_LIST_JOB ? [] : this.stale(change);
    const commands: ResultCommand[] = [
      ...msetCommands(
        this.runEntries({ job, groups: plan.groups, nowMs, statusEntries, writtenIps, historyEntries }),
      ),
      ...dels,
    ];
    if (change.added.length > 0) commands.push(this.build.errAdd(agent, change.added));
    if (change.removed.length > 0) commands.push(this.build.errRemove(agent, change.removed));
    await this.deps.writer.write(commands);
    const ms = this.now() - started;
    metrics.recordRun(job, ms / 1000);
    return {
      job,
      targets: ips.length,
      sent,
      received,
      commands: commands.length,
      errAdded: change.added.length,
      errRemoved: change.removed.length,
      ms,
      lagMs: started - scheduledAt.getTime(),
    };
  }

  /**
   * THE place where a run's MSET entries are gathered: the statuses due this run, the history
   * blocks it completed, and the group summaries. Everything here goes to Redis in one MSET.
   */
  private runEntries(run: RunRecord): Entry[] {
    return [...run.statusEntries, ...run.historyEntries, ...this.summaryEntries(run)];
  }

  /**
   * The summaries a run writes: of every group it probed (all their members, at the run's time), and
   * of any other group holding an IP whose status it wrote (the err-list job), so that each summary
   * always matches the statuses Redis holds once this MSET is applied. Plus the agent's roll-up.
   */
  private summaryEntries(run: RunRecord): Entry[] {
    const probed = new Map<string, readonly string[]>();
    if (run.job !== ERR_LIST_JOB) {
      for (const group of run.groups) {
        const members = this.membersOf(group);
        if (members) probed.set(group, members);
      }
      this.summaries.probed(probed, run.nowMs);
    }
    return this.summaries.entries(probed.keys(), run.writtenIps, (ip) => this.writtenStatus(ip), run.nowMs);
  }

  /** The statuses as Redis holds them (what a summary is built from). */
  private writtenStatus(ip: string): IpStatus | undefined {
    return this.deps.written.get(ip);
  }

  /** The members of a group as last read (what the run probed). */
  private membersOf(group: string): readonly string[] | undefined {
    return this.lastMembers.get(group);
  }

  /** At a stop: the open history blocks and the statuses newer than what Redis holds. */
  finalCommands(nowMs: number): ResultCommand[] {
    const { agent, store, history, blocks, written } = this.deps;
    const statuses = written.takeUnwritten(nowMs, (ip) => this.deps.ipState.lastStatus(ip));
    const entries: Entry[] = statuses.map((status) => [
      store.keys.ipStatus(agent, status.ip),
      JSON.stringify(status),
    ]);
    // The summaries holding those statuses follow them, so a restart finds the two in agreement.
    const ips = statuses.map((status) => status.ip);
    entries.push(...this.summaries.entries([], ips, (ip) => this.writtenStatus(ip), nowMs));
    blocks.add(history.drain(), entries);
    blocks.drain(entries);
    return msetCommands(entries);
  }
}

/** What one run hands to `runEntries`. */
interface RunRecord {
  job: string;
  /** The groups the job covers (their members: `membersOf`). */
  groups: readonly string[];
  /** The run's time: `updated_at` of every status it writes. */
  nowMs: number;
  statusEntries: Entry[];
  /** The IPs of `statusEntries`, in the same order (the statuses the summaries must match). */
  writtenIps: string[];
  historyEntries: Entry[];
}

import { Cron } from 'croner';
import { cronSpecProblem } from '../../shared/cron-spec.ts';
import { fnv1a32 } from '../../shared/fnv1a.ts';
import { JOB_LIMITS, type JobValue } from '../../shared/schema.ts';
import type { StoredJob } from '../../shared/store/jobs.ts';

// Turning what Redis holds into the set of jobs to schedule. The whole new set is built and
// checked first; a job that cannot run (bad SPEC, unknown group, malformed value) is reported and
// keeps its previous definition if it had one, so one bad edit never stops the other jobs.

export interface JobPlan {
  name: string;
  spec: string;
  groups: string[];
  count: number;
  timeoutMs: number;
  size: number;
  /** Seconds between two runs (the shortest gap of the next few), for expiries and spreading. */
  intervalS: number;
  /** Stable digest of the definition: a job whose digest did not change keeps its schedule. */
  digest: string;
}

export interface JobProblem {
  name: string;
  problem: string;
  /** True when the previous definition stays in force. */
  keptPrevious: boolean;
}

export function planOf(name: string, value: JobValue): JobPlan {
  const plan = {
    name,
    spec: value.SPEC.trim(),
    groups: [...new Set(value.group)].sort(),
    count: value.count ?? JOB_LIMITS.count.default,
    timeoutMs: value.timeout_ms ?? JOB_LIMITS.timeout_ms.default,
    size: value.size ?? JOB_LIMITS.size.default,
    intervalS: intervalOf(value.SPEC),
  };
  return { ...plan, digest: JSON.stringify(plan) };
}

export function intervalOf(spec: string): number {
  const cron = new Cron(spec, { paused: true, timezone: 'UTC' });
  const runs = cron.nextRuns(4);
  cron.stop();
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < runs.length; i++)
    gap = Math.min(gap, (runs[i]!.getTime() - runs[i - 1]!.getTime()) / 1000);
  return Number.isFinite(gap) ? Math.max(1, Math.round(gap)) : 86_400;
}

/**
 * The next job set from the stored jobs, the groups that exist and the current set. Pure: the
 * caller reads Redis and swaps the schedules.
 */
export function nextJobSet(
  stored: readonly StoredJob[],
  existingGroups: ReadonlySet<string>,
  current: ReadonlyMap<string, JobPlan>,
): { plans: Map<string, JobPlan>; problems: JobProblem[] } {
  const plans = new Map<string, JobPlan>();
  const problems: JobProblem[] = [];
  const fail = (name: string, problem: string) => {
    const previous = current.get(name);
    if (previous) plans.set(name, previous);
    problems.push({ name, problem, keptPrevious: previous !== undefined });
  };
  for (const entry of stored) {
    if (!entry.job) {
      fail(entry.name, entry.problem);
      continue;
    }
    const specProblem = cronSpecProblem(entry.job.SPEC);
    if (specProblem) {
      fail(entry.name, `SPEC ${specProblem}`);
      continue;
    }
    const unknown = entry.job.group.filter((g) => !existingGroups.has(g));
    if (unknown.length > 0) {
      fail(entry.name, `unknown group${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
      continue;
    }
    plans.set(entry.name, planOf(entry.name, entry.job));
  }
  return { plans, problems };
}

/** A fixed offset per job inside its interval (up to a second), so jobs do not all fire at once. */
export function spreadOffsetMs(name: string, intervalS: number): number {
  const span = Math.min(1_000, (intervalS * 1000) / 4);
  return fnv1a32(name) % Math.max(1, Math.floor(span));
}

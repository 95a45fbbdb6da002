import { Cron } from 'croner';
import type { JobPlan } from './job-set.ts';
import { spreadOffsetMs } from './job-set.ts';

// Keeps one croner schedule per job in line with the wanted set: unchanged jobs keep running
// untouched, changed ones are replaced, removed ones stopped. Schedules are UTC, never overlap
// themselves (a run still going when the next is due is skipped and counted, also when the job's
// definition changed meanwhile: the run of the old one finishes first), and start at a small per-job
// offset so that jobs on the same SPEC do not fire in one burst.

export type RunJob = (plan: JobPlan, scheduledAt: Date) => Promise<void>;

interface Running {
  plan: JobPlan;
  cron: Cron;
}

export class Scheduler {
  private readonly running = new Map<string, Running>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Jobs with a run going, by name, so a replaced definition does not overlap its predecessor. */
  private readonly busy = new Set<string>();
  private stopped = false;
  skippedRuns = 0;

  constructor(
    private readonly runJob: RunJob,
    private readonly onError: (plan: JobPlan, error: unknown) => void,
  ) {}

  /** Applies a new set; returns what changed. */
  reconcile(plans: ReadonlyMap<string, JobPlan>): { added: string[]; changed: string[]; removed: string[] } {
    const added: string[] = [];
    const changed: string[] = [];
    const removed: string[] = [];
    if (this.stopped) return { added, changed, removed };
    for (const [name, entry] of this.running) {
      const next = plans.get(name);
      if (!next) {
        entry.cron.stop();
        this.running.delete(name);
        removed.push(name);
      }
    }
    for (const [name, plan] of plans) {
      const current = this.running.get(name);
      if (current && current.plan.digest === plan.digest) continue;
      current?.cron.stop();
      this.running.set(name, this.start(plan));
      (current ? changed : added).push(name);
    }
    return { added, changed, removed };
  }

  private start(plan: JobPlan): Running {
    const offset = spreadOffsetMs(plan.name, plan.intervalS);
    const entry: Running = {
      plan,
      cron: new Cron(
        plan.spec,
        // No croner `name`: croner keeps named jobs in one process-wide registry and refuses a
        // second of the same name, and a stored job may share its name with the built-in one.
        // No croner `protect` either: it blocks a trigger only while the callback's promise is
        // pending, and this callback returns at once. `busy` keeps runs from overlapping instead,
        // counts the skipped ones, and also covers a job replaced while its old run still goes.
        { timezone: 'UTC' },
        (cron: Cron) => {
          const scheduledAt = cron.currentRun() ?? new Date();
          if (this.busy.has(plan.name)) {
            this.skippedRuns += 1;
            return;
          }
          this.busy.add(plan.name);
          const run = (async () => {
            if (offset > 0) await new Promise((r) => setTimeout(r, offset));
            // Removed or replaced while waiting for its offset: that run belongs to the old job.
            if (this.stopped || this.running.get(plan.name) !== entry) return;
            await this.runJob(entry.plan, scheduledAt);
          })()
            .catch((error) => this.onError(entry.plan, error))
            .finally(() => {
              this.busy.delete(plan.name);
              this.inFlight.delete(run);
            });
          this.inFlight.add(run);
        },
      ),
    };
    return entry;
  }

  plans(): Map<string, JobPlan> {
    return new Map([...this.running].map(([name, r]) => [name, r.plan]));
  }

  names(): string[] {
    return [...this.running.keys()].sort();
  }

  /** Stops every schedule and waits for the runs in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.running.values()) entry.cron.stop();
    this.running.clear();
    await Promise.allSettled([...this.inFlight]);
  }
}

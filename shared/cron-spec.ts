import { Cron } from 'croner';

// A job's SPEC: 5 fields (minute precision) or 6 (with seconds first), as the seed writes them
// (`*/10 * * * * *`). Checked by croner itself, so what the API accepts the agent can schedule.

/** Why a SPEC cannot be scheduled, or null when it can. */
export function cronSpecProblem(spec: string): string | null {
  const fields = spec.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return `a SPEC has 5 fields (minute hour day month weekday) or 6 (seconds first); "${spec}" has ${fields.length}`;
  }
  try {
    const cron = new Cron(spec, { paused: true, timezone: 'UTC' });
    const next = cron.nextRun();
    cron.stop();
    if (!next) return `"${spec}" never fires`;
    return null;
  } catch (error) {
    return `"${spec}" is not a valid cron expression: ${(error as Error).message}`;
  }
}

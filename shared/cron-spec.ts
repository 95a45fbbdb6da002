import { Cron } from 'croner';

// A job's SPEC: 5 fields (minute precision) or 6 (with seconds first), as the seed writes them
// (`*/10 * * * * *`). Checked by croner itself, so what the API accepts the agent can schedule.

// Every read of a stored job checks its SPEC (the CI check reads each agent's jobs on every
// request), and croner's parse is most of that read's CPU: the answer depends on the text alone,
// so it is kept, for a bounded number of texts.
const known = new Map<string, string | null>();
const KNOWN_MAX = 512;

/** Why a SPEC cannot be scheduled, or null when it can. */
export function cronSpecProblem(spec: string): string | null {
  const cached = known.get(spec);
  if (cached !== undefined) return cached;
  const problem = checkSpec(spec);
  if (known.size >= KNOWN_MAX) known.clear();
  known.set(spec, problem);
  return problem;
}

function checkSpec(spec: string): string | null {
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

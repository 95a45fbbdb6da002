import { apiTarget, apiUrl } from './api-target.ts';
import { decimalOption, intOption, parseCommandArgs } from './args.ts';
import { EXIT, UsageError } from './usage-error.ts';

// `ping-agent check`: the API's CI verdict from a shell. Plain HTTP to /v1/check; nothing from the
// probe engine is loaded, so it runs on any CI runner without raw-socket or privileges.

const HELP = `usage: ping-agent check --url URL --token TOKEN --group GROUP [options]

Asks the API whether every agent probing GROUP sees every IP of it within the limits.

options:
      --url URL         API base URL (or PING_AGENT_API_URL), e.g. https://ping-agent.example.workers.dev
      --token TOKEN     API_TOKEN or READ_TOKEN (or PING_AGENT_API_TOKEN; prefer the environment)
      --group GROUP     the group to check
      --agent AGENT     only this agent's view
      --max-loss F      most loss allowed, 0..1 (default 0)
      --max-rtt-ms N    most average RTT allowed, in ms (default: no limit)
      --max-age-s N     oldest status accepted, in seconds (default 180)
      --timeout-ms N    how long to wait for the API (default 10000)
      --json            print the API's JSON answer instead of the summary
  -h, --help            show this help

exit status: 0 healthy, 1 failing, 2 bad usage or the API could not give a verdict
`;

const options = {
  url: { type: 'string' },
  token: { type: 'string' },
  group: { type: 'string' },
  agent: { type: 'string' },
  'max-loss': { type: 'string' },
  'max-rtt-ms': { type: 'string' },
  'max-age-s': { type: 'string' },
  'timeout-ms': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface CheckConfig {
  url: URL;
  token: string;
  timeoutMs: number;
  json: boolean;
}

/** Flags with their environment fallbacks, checked in one place; throws a UsageError naming the fix. */
export function checkConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): CheckConfig | 'help' {
  const { values, positionals } = parseCommandArgs('check', argv, options);
  if (values.help) return 'help';
  if (positionals.length > 0) {
    throw new UsageError(
      `ping-agent check: unexpected argument "${positionals[0]}"; the group goes in --group`,
    );
  }
  const { base, token } = apiTarget('check', values, env);
  if (!values.group) throw new UsageError('ping-agent check: --group is required (the group to check)');
  const query = new URLSearchParams({ group: values.group });
  if (values.agent) query.set('agent', values.agent);
  // Passed on as typed: the API reads the same decimal.
  const limit = (flag: string, raw: string | undefined, name: string, max: number) => {
    if (decimalOption('check', flag, raw, max) !== undefined) query.set(name, raw!);
  };
  limit('--max-loss', values['max-loss'], 'max_loss', 1);
  limit('--max-rtt-ms', values['max-rtt-ms'], 'max_rtt_ms', 600_000);
  limit('--max-age-s', values['max-age-s'], 'max_age_s', 30 * 86_400);
  const checkUrl = apiUrl(base, `/v1/check?${query}`);
  const timeoutMs = intOption('check', '--timeout-ms', values['timeout-ms'], 10_000, 100, 300_000);
  return { url: checkUrl, token, timeoutMs, json: values.json ?? false };
}

interface Failing {
  agent: string | null;
  ip: string | null;
  reason: string;
  loss: number | null;
  rtt_ms: number | null;
  age_s: number | null;
  /** agent, target or unknown (an older API sends none). */
  likely_cause?: string;
}

interface CheckAnswer {
  ok: boolean;
  group: string;
  agents: string[];
  checked: number;
  limits: { max_loss: number; max_rtt_ms: number | null; max_age_s: number };
  failing_count: number;
  failing: Failing[];
  /** Where the faults likely are, in words (an older API sends none). */
  diagnosis?: string[];
}

export async function run(argv: string[]): Promise<number> {
  const config = checkConfig(argv);
  if (config === 'help') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  let res: Response;
  try {
    res = await fetch(config.url, {
      headers: { authorization: `Bearer ${config.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(config.timeoutMs),
    });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    process.stderr.write(`ping-agent check: cannot reach the API at ${config.url.origin}: ${cause}\n`);
    return EXIT.usage;
  }
  let text: string;
  try {
    text = await res.text();
  } catch (error) {
    process.stderr.write(
      `ping-agent check: the API at ${config.url.origin} stopped answering: ${(error as Error).message}\n`,
    );
    return EXIT.usage;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    process.stderr.write(
      `ping-agent check: the API at ${config.url.origin} answered ${res.status} without JSON; is --url the ping-agent API?\n`,
    );
    return EXIT.usage;
  }
  if (res.status !== 200 && res.status !== 412) {
    const error = (body as { error?: { message?: string } }).error;
    process.stderr.write(
      `ping-agent check: the API answered ${res.status}: ${error?.message ?? text.slice(0, 200)}\n`,
    );
    return EXIT.usage;
  }
  // A green build must come from a real verdict: 200 with ok true. Anything else that answers 200
  // or 412 (a proxy, another service at a wrong --url) is no verdict at all, never a pass.
  if (!isVerdict(body) || body.ok !== (res.status === 200)) {
    process.stderr.write(
      `ping-agent check: the API at ${config.url.origin} answered ${res.status} with no verdict; is --url the ping-agent API?\n`,
    );
    return EXIT.usage;
  }
  process.stdout.write(config.json ? `${JSON.stringify(body, null, 2)}\n` : summary(body));
  return body.ok ? EXIT.ok : EXIT.failed;
}

function isVerdict(body: unknown): body is CheckAnswer {
  const b = body as Partial<CheckAnswer> | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.ok === 'boolean' &&
    typeof b.group === 'string' &&
    Array.isArray(b.agents) &&
    typeof b.checked === 'number' &&
    typeof b.failing_count === 'number' &&
    Array.isArray(b.failing) &&
    typeof b.limits === 'object' &&
    b.limits !== null
  );
}

const MAX_LINES = 50;

/** The verdict for people: one headline, then one line per failure. */
export function summary(answer: CheckAnswer): string {
  const { limits } = answer;
  const limitText = [
    `loss <= ${pct(limits.max_loss)}`,
    limits.max_rtt_ms === null ? null : `rtt <= ${limits.max_rtt_ms} ms`,
    `age <= ${limits.max_age_s} s`,
  ]
    .filter(Boolean)
    .join(', ');
  const agents = answer.agents.length > 0 ? answer.agents.join(', ') : 'none';
  if (answer.ok) {
    return `ok: group ${answer.group}: ${answer.checked} (agent, IP) pairs within limits (${limitText}); agents: ${agents}\n`;
  }
  const lines = [
    `FAILING: group ${answer.group}: ${answer.failing_count} problem(s) over ${answer.checked} (agent, IP) pairs (${limitText}); agents: ${agents}`,
  ];
  for (const f of answer.failing.slice(0, MAX_LINES)) {
    const details = [
      f.loss === null ? null : `loss ${pct(f.loss)}`,
      f.rtt_ms === null ? null : `rtt ${f.rtt_ms.toFixed(1)} ms`,
      f.age_s === null ? null : `age ${Math.round(f.age_s)} s`,
    ]
      .filter(Boolean)
      .join('  ');
    const why =
      f.reason === 'no_data' && f.ip === null ? 'no_data (no agent has a job for this group)' : f.reason;
    const cause = f.likely_cause && f.likely_cause !== 'unknown' ? `  (likely: the ${f.likely_cause})` : '';
    lines.push(
      `  ${(f.agent ?? '-').padEnd(16)} ${(f.ip ?? '-').padEnd(39)} ${why.padEnd(8)} ${details}${cause}`.trimEnd(),
    );
  }
  if (answer.failing_count > MAX_LINES)
    lines.push(`  ... and ${answer.failing_count - MAX_LINES} more (--json lists them)`);
  if (answer.diagnosis && answer.diagnosis.length > 0) {
    lines.push('where the fault likely is:');
    for (const line of answer.diagnosis) lines.push(`  ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

function pct(fraction: number): string {
  // A failing loss too small for two decimals must not read as "0%".
  if (fraction > 0 && fraction < 0.0001) return '<0.01%';
  return `${Number((fraction * 100).toFixed(2))}%`;
}

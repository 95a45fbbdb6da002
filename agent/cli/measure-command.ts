import type { TargetFigures } from '../../shared/measurement-schema.ts';
import { apiTarget, apiUrl } from './api-target.ts';
import { decimalOption, intOption, parseCommandArgs } from './args.ts';
import { EXIT, UsageError } from './usage-error.ts';

// `ping-agent measure`: an on-demand measurement from a shell (a CI step after a route or firewall
// change). POST /v1/measurements, then GET it with ?wait_s until every agent is done; one line per
// (agent, target) in the style of `probe`. Plain HTTP: nothing from the probe engine is loaded.

const HELP = `usage: ping-agent measure --url URL --token TOKEN [options] (target... | --group GROUP)

Asks agents to ping the targets now and prints one line per (agent, target).
Targets are IP addresses or CIDR blocks (up to /22).

options:
      --url URL         API base URL (or PING_AGENT_API_URL)
      --token TOKEN     API_TOKEN (or PING_AGENT_API_TOKEN; prefer the environment)
      --group GROUP     measure the group's IPs instead of targets
      --agents A,B      these agents (default: every online agent)
      --any N           N online agents picked at random
  -c, --count N         packets per target, 1..100 (default 3)
  -p, --period MS       time between packets to one target (default 1000)
  -t, --timeout MS      how long to wait for each reply (default 1000)
      --max-loss F      most loss allowed per (agent, target), 0..1 (default 0)
      --max-rtt-ms N    most average RTT allowed, in ms (default: no limit)
      --json            print the API's JSON answer instead of the lines
  -h, --help            show this help

exit status: 0 every (agent, target) within the limits, 1 some not (or an agent offline or
failed), 2 bad usage or no answer from the API or from any agent
`;

const options = {
  url: { type: 'string' },
  token: { type: 'string' },
  group: { type: 'string' },
  agents: { type: 'string' },
  any: { type: 'string' },
  count: { type: 'string', short: 'c' },
  period: { type: 'string', short: 'p' },
  timeout: { type: 'string', short: 't' },
  'max-loss': { type: 'string' },
  'max-rtt-ms': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface MeasureConfig {
  base: URL;
  token: string;
  body: Record<string, unknown>;
  maxLoss: number;
  maxRttMs: number | null;
  json: boolean;
}

const fail = (message: string): never => {
  throw new UsageError(`ping-agent measure: ${message}`);
};

/** Flags with their environment fallbacks, checked in one place; throws a UsageError naming the fix. */
export function measureConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): MeasureConfig | 'help' {
  const { values, positionals } = parseCommandArgs('measure', argv, options);
  if (values.help) return 'help';
  const { base, token } = apiTarget('measure', values, env);
  if (positionals.length > 0 && values.group) fail('give targets or --group, not both');
  if (positionals.length === 0 && !values.group) fail('no targets; give addresses or --group GROUP');
  if (values.agents !== undefined && values.any !== undefined) fail('give --agents or --any, not both');
  const body: Record<string, unknown> = values.group ? { group: values.group } : { targets: positionals };
  if (values.agents !== undefined) {
    const names = values.agents
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    if (names.length === 0) fail('--agents needs at least one agent name, e.g. --agents edge-1,edge-2');
    body.agents = names;
  } else if (values.any !== undefined) {
    body.agents = { any: intOption('measure', '--any', values.any, 1, 1, 1_024) };
  }
  body.count = intOption('measure', '-c/--count', values.count, 3, 1, 100);
  body.interval_ms = intOption('measure', '-p/--period', values.period, 1_000, 0, 10_000);
  body.timeout_ms = intOption('measure', '-t/--timeout', values.timeout, 1_000, 1, 10_000);
  return {
    base,
    token,
    body,
    maxLoss: decimalOption('measure', '--max-loss', values['max-loss'], 1) ?? 0,
    maxRttMs: decimalOption('measure', '--max-rtt-ms', values['max-rtt-ms'], 600_000) ?? null,
    json: values.json ?? false,
  };
}

interface AgentAnswer {
  name: string;
  state: string;
  error?: string;
  results: TargetFigures[] | null;
}

interface MeasurementAnswer {
  id: string;
  done: boolean;
  deadline_at: string;
  agents: AgentAnswer[];
}

/** A failed exchange with the API: printed as one line, exit 2. */
class NoAnswer extends Error {}

async function call(config: MeasureConfig, method: string, path: string, body?: unknown) {
  const url = apiUrl(config.base, path);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${config.token}`,
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(40_000),
    });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new NoAnswer(`cannot reach the API at ${url.origin}: ${cause}`);
  }
  const text = await res.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new NoAnswer(
      `the API at ${url.origin} answered ${res.status} without JSON; is --url the ping-agent API?`,
    );
  }
  return { status: res.status, headers: res.headers, body: parsed as Record<string, unknown> };
}

function isAnswer(body: unknown): body is MeasurementAnswer {
  const b = body as Partial<MeasurementAnswer> | null;
  return typeof b?.id === 'string' && typeof b.done === 'boolean' && Array.isArray(b.agents);
}

export async function run(argv: string[]): Promise<number> {
  const config = measureConfig(argv);
  if (config === 'help') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  let answer: MeasurementAnswer;
  try {
    answer = await measure(config);
  } catch (error) {
    if (!(error instanceof NoAnswer)) throw error;
    process.stderr.write(`ping-agent measure: ${error.message}\n`);
    return EXIT.usage;
  }
  if (!answer.agents.some((a) => a.state === 'finished')) {
    const why = answer.agents.map((a) => `${a.name} ${a.state}${a.error ? ` (${a.error})` : ''}`).join(', ');
    process.stderr.write(`ping-agent measure: no agent measured: ${why || 'no agent chosen'}\n`);
    if (config.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return EXIT.usage;
  }
  const { lines, ok } = report(answer, config);
  process.stdout.write(config.json ? `${JSON.stringify(answer, null, 2)}\n` : lines);
  return ok ? EXIT.ok : EXIT.failed;
}

async function measure(config: MeasureConfig): Promise<MeasurementAnswer> {
  const posted = await call(config, 'POST', '/v1/measurements', config.body);
  if (posted.status !== 202 || typeof posted.body.id !== 'string') {
    const error = posted.body.error as { message?: string } | undefined;
    const retry = posted.headers.get('retry-after');
    throw new NoAnswer(
      `the API answered ${posted.status}: ${error?.message ?? JSON.stringify(posted.body).slice(0, 200)}${retry ? ` (retry after ${retry} s)` : ''}`,
    );
  }
  const deadline = Date.parse(String(posted.body.deadline_at));
  // The API fails every agent not done by the deadline, so the wait ends soon after it.
  const giveUp = (Number.isFinite(deadline) ? deadline : Date.now() + 60_000) + 10_000;
  for (;;) {
    const waitS = Math.max(0, Math.min(25, Math.ceil((giveUp - Date.now()) / 1000)));
    const got = await call(config, 'GET', `/v1/measurements/${posted.body.id}?wait_s=${waitS}`);
    if (got.status !== 200 || !isAnswer(got.body)) {
      throw new NoAnswer(`the API answered ${got.status} with no measurement for ${posted.body.id}`);
    }
    if (got.body.done) return got.body;
    if (Date.now() >= giveUp)
      throw new NoAnswer(`measurement ${posted.body.id} did not end; the API says it is not done`);
  }
}

const ms = (x: number) => (x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3));

/** One line per (agent, target) as `probe` prints them, each marked when outside the limits. */
export function report(answer: MeasurementAnswer, limits: Pick<MeasureConfig, 'maxLoss' | 'maxRttMs'>) {
  const rows: [string, string][] = [];
  let ok = true;
  for (const agent of answer.agents) {
    if (agent.state !== 'finished' || !agent.results) {
      ok = false;
      rows.push([agent.name, `${agent.state}${agent.error ? `: ${agent.error}` : ''}`]);
      continue;
    }
    for (const r of agent.results) {
      let line = `xmt/rcv/%loss = ${r.sent}/${r.received}/${Math.round(r.loss * 100)}%`;
      if (r.rtt_ms) line += `, min/avg/max = ${ms(r.rtt_ms.min)}/${ms(r.rtt_ms.avg)}/${ms(r.rtt_ms.max)}`;
      const notes: string[] = [];
      const { unreachable, ttl_exceeded } = r.errors;
      if (unreachable)
        notes.push(`${unreachable.count} unreachable from ${unreachable.from} (code ${unreachable.code})`);
      if (ttl_exceeded) notes.push(`${ttl_exceeded.count} TTL exceeded at ${ttl_exceeded.from}`);
      if (r.late) notes.push(`${r.late} late`);
      if (r.duplicates) notes.push(`${r.duplicates} duplicates`);
      if (notes.length) line += ` [${notes.join(', ')}]`;
      const tooLossy = r.loss > limits.maxLoss;
      const tooSlow = limits.maxRttMs !== null && (r.rtt_ms === null || r.rtt_ms.avg > limits.maxRttMs);
      if (tooLossy || tooSlow) {
        ok = false;
        line += `  FAILING (${[tooLossy ? 'loss' : null, tooSlow ? 'rtt' : null].filter(Boolean).join(', ')})`;
      }
      rows.push([`${agent.name} ${r.ip}`, line]);
    }
  }
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return { ok, lines: `${rows.map(([label, line]) => `${label.padEnd(width)} : ${line}`).join('\n')}\n` };
}

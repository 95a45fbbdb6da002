import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spreadOffsetMs } from '../agent/daemon/job-set.ts';
import { AgentProcess, type LogLine } from '../agent/daemon/testing/agent-process.ts';
import { createStore } from '../shared/store.ts';
import { startTestBackend } from '../test/support/backend.ts';

// `npm run bench:agent`: the agent daemon under load, as deployed: the built command
// (dist/ping-agent.js, what `npm install -g` installs, with the V8 flags of its first line and the
// unit's NODE_OPTIONS) running `ping-agent run` as its own process, against a real redis-server
// behind the gateway. Two scenarios: 10,000 targets every
// 10 s and 100,000 targets every 60 s. Targets are loopback addresses (127.0.0.0/8 is answered by
// the kernel for every address), so the packets are real and nothing leaves the host.
//
// Figures: the agent's CPU share (of one core) and peak memory (VmHWM), Redis requests and
// commands per run (counted by the agent's own requester, read from its /metrics), how late
// runs start against their schedule, how long a run takes, how long from start until the first
// run is done, and how long SIGTERM takes to stop it. Background requests are kept out
// of the way (config poll every 60 s, heartbeat every 200 s) and reported separately.
//
// Options: --small-seconds N (default 60), --large-seconds N (default 120), --only small|large,
// --node-options '...' (default: the NODE_OPTIONS of deploy/ping-agent.service), --binary.

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Math.max(10, Number(process.argv[i + 1]) || fallback) : fallback;
};
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
// The systemd unit caps V8's young generation (deploy/ping-agent.service); measure what it runs.
const UNIT_NODE_OPTIONS = /^Environment="?NODE_OPTIONS=([^"\n]*)"?$/m.exec(
  readFileSync(fileURLToPath(new URL('../deploy/ping-agent.service', import.meta.url)), 'utf8'),
)?.[1];
const NODE_OPTIONS = process.argv.includes('--node-options')
  ? (process.argv[process.argv.indexOf('--node-options') + 1] ?? '')
  : (UNIT_NODE_OPTIONS ?? '');
/** 100,000 targets need a larger old generation than the unit's default, as the README says. */
const LARGE_NODE_OPTIONS = NODE_OPTIONS.replace(/--max-old-space-size=\d+/, '--max-old-space-size=256');
const RESULTS = fileURLToPath(new URL('./RESULTS-agent.md', import.meta.url));
// --binary: the single executable (`npm run build:binary`) instead of the npm package's command.
const COMMAND = fileURLToPath(
  process.argv.includes('--binary')
    ? new URL(`../release/ping-agent-${process.platform}-${process.arch}`, import.meta.url)
    : new URL('../dist/ping-agent.js', import.meta.url),
);
const TICKS = 100; // USER_HZ on Linux

interface Scenario {
  key: 'small' | 'large';
  targets: number;
  spec: string;
  intervalS: number;
  seconds: number;
  firstOctets: [number, number];
  nodeOptions: string;
}

const scenarios: Scenario[] = [
  {
    key: 'small',
    targets: 10_000,
    spec: '*/10 * * * * *',
    intervalS: 10,
    seconds: arg('--small-seconds', 60),
    nodeOptions: NODE_OPTIONS,
    firstOctets: [127, 40],
  },
  {
    key: 'large',
    targets: 100_000,
    spec: '0 * * * * *',
    intervalS: 60,
    seconds: arg('--large-seconds', 120),
    nodeOptions: LARGE_NODE_OPTIONS,
    firstOctets: [127, 60],
  },
];

function targetsOf(s: Scenario): string[] {
  const out: string[] = [];
  for (let n = 1; out.length < s.targets; n++) {
    const last = n & 255;
    if (last === 0 || last === 255) continue;
    out.push(`${s.firstOctets[0]}.${s.firstOctets[1] + (n >> 16)}.${(n >> 8) & 255}.${last}`);
  }
  return out;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function peakKb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

const pct = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

interface Figures {
  scenario: Scenario;
  runs: number;
  cpuShare: number;
  peakMb: number;
  requestsPerRun: number;
  commandsPerRun: number;
  requestLimit: number;
  backgroundRequests: number;
  lagMs: { min: number; median: number; max: number };
  offsetMs: number;
  runMs: { median: number; max: number };
  sentPerRun: number;
  receivedPerRun: number;
  /** Process start until the first run is done. */
  firstRunS: number;
  /** SIGTERM until the process exited. */
  stopMs: number;
}

async function runScenario(s: Scenario): Promise<Figures> {
  const backend = await startTestBackend();
  const spool = await mkdtemp(join(tmpdir(), 'bench-agent-'));
  const metricsPort = 19_000 + Math.floor(Math.random() * 10_000);
  const store = createStore(backend.redis);
  const ips = targetsOf(s);
  await store.groups.replace(`bench-${s.key}`, ips);
  await store.jobs.put('bench', { SPEC: s.spec, name: s.key, group: [`bench-${s.key}`], timeout_ms: 1_000 });
  const startedAt = Date.now();
  const agent = AgentProcess.start(
    {
      UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
      UPSTASH_REDIS_REST_TOKEN: backend.token,
      PING_AGENT_NAME: 'bench',
      PING_AGENT_SPOOL_DIR: spool,
      PING_AGENT_RATE_PPS: '50000',
      PING_AGENT_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
      PING_AGENT_CONFIG_POLL_MS: '60000',
      PING_AGENT_RESYNC_S: '3600',
      PING_AGENT_HEARTBEAT_TTL_S: '600',
      ...(s.nodeOptions ? { NODE_OPTIONS: s.nodeOptions } : {}),
    },
    [COMMAND],
  );
  let stopMs = 0;
  let figures: Omit<Figures, 'stopMs'>;
  try {
    process.stdout.write(`${s.key}: ${ips.length} targets, "${s.spec}", ${s.seconds} s...\n`);
    // The window opens at the end of the first run, so start-up and the first fill are not in it.
    await agent.waitFor('the first run', () => agent.runs(s.key).length >= 1, s.intervalS * 1000 + 60_000);
    const firstRunS = (Date.now() - startedAt) / 1000;
    const pid = agent.child.pid!;
    const startTicks = cpuTicks(pid);
    const startRequests = await metric(metricsPort, 'ping_agent_redis_requests_total');
    const startCommands = await metric(metricsPort, 'ping_agent_redis_commands_total');
    const startRuns = agent.runs(s.key).length;
    const started = Date.now();
    await new Promise((r) => setTimeout(r, s.seconds * 1000));
    // Let a run in progress finish, so requests and runs match.
    const runsAtEnd = agent.runs(s.key).length;
    await agent.waitFor(
      'the run in progress',
      () => agent.runs(s.key).length > runsAtEnd,
      s.intervalS * 1000 + 30_000,
    );
    const wall = (Date.now() - started) / 1000;
    const ticks = cpuTicks(pid) - startTicks;
    const requests = (await metric(metricsPort, 'ping_agent_redis_requests_total')) - startRequests;
    const commands = (await metric(metricsPort, 'ping_agent_redis_commands_total')) - startCommands;
    const peak = peakKb(pid);
    const windowRuns: LogLine[] = agent.runs(s.key).slice(startRuns);
    const background = Math.floor(wall / 60) + Math.floor(wall / 200);
    const offset = spreadOffsetMs(s.key, s.intervalS);
    const lags = windowRuns.map((r) => Number(r.lagMs) - offset).sort((a, b) => a - b);
    const durations = windowRuns.map((r) => Number(r.ms)).sort((a, b) => a - b);
    const runs = windowRuns.length;
    const commandsPerRun = commands / runs;
    figures = {
      scenario: s,
      firstRunS,
      runs,
      cpuShare: ticks / TICKS / wall,
      peakMb: peak / 1024,
      requestsPerRun: (requests - background) / runs,
      commandsPerRun,
      requestLimit: Math.ceil(commandsPerRun / 1000) + 2,
      backgroundRequests: background,
      lagMs: { min: lags[0]!, median: pct(lags, 0.5), max: lags.at(-1)! },
      offsetMs: offset,
      runMs: { median: pct(durations, 0.5), max: durations.at(-1)! },
      sentPerRun: windowRuns.reduce((a, r) => a + Number(r.sent), 0) / runs,
      receivedPerRun: windowRuns.reduce((a, r) => a + Number(r.received), 0) / runs,
    };
  } finally {
    stopMs = (await agent.stop()).ms;
    await backend.close();
    await rm(spool, { recursive: true, force: true });
  }
  return { ...figures, stopMs };
}

function report(figures: Figures[]): string {
  const rows = figures.map((f) => {
    const s = f.scenario;
    return `| ${s.targets.toLocaleString('en')} every ${s.intervalS} s | ${s.seconds} s, ${f.runs} runs | ${(f.cpuShare * 100).toFixed(1)} % | ${f.peakMb.toFixed(0)} MB | ${f.requestsPerRun.toFixed(2)} (limit ${f.requestLimit}) | ${f.commandsPerRun.toFixed(0)} (${(f.commandsPerRun / s.targets).toFixed(2)}/target) | ${f.lagMs.min} / ${f.lagMs.median} / ${f.lagMs.max} ms (+${f.offsetMs} ms spread) | ${f.runMs.median} / ${f.runMs.max} ms | ${f.receivedPerRun.toFixed(0)} of ${f.sentPerRun.toFixed(0)} | \`${s.nodeOptions || '(none)'}\` | ${f.firstRunS.toFixed(1)} s | ${f.stopMs} ms |`;
  });
  return [
    '| scenario | window | CPU (one core) | peak RSS | requests / run | commands / run | start lag min / median / max | run time median / max | replies / run | NODE_OPTIONS | start to first run done | SIGTERM to exit |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(COMMAND)) throw new Error(`${COMMAND} is missing: run npm run build (or build:binary)`);
  const figures: Figures[] = [];
  for (const s of scenarios) if (!only || only === s.key) figures.push(await runScenario(s));
  const table = report(figures);
  process.stdout.write(`\n${table}\n`);
  const text = [
    '# Agent benchmark',
    '',
    '`npm run bench:agent` (options `--small-seconds N`, `--large-seconds N`, `--only small|large`,',
    "`--node-options '...'`). NODE_OPTIONS: the systemd unit's by default; for 100,000 targets with the",
    'old generation raised to 256 MB, as the README advises.',
    'The built command (`dist/ping-agent.js run`, what `npm install -g` installs, with the V8 flags of its',
    'first line) as its own process against redis-server behind the gateway; targets are',
    'loopback addresses, answered by the kernel. CPU is the agent process only (user + system) over',
    'the window after its first run; peak RSS is its VmHWM. Requests and commands are counted by the',
    "agent's own requester and read from its `/metrics`; background requests (config poll every",
    '60 s, heartbeat every 200 s in this benchmark) are subtracted. Start lag is how late a run started',
    "against its schedule, beyond the job's fixed spread offset (shown beside it, under one second).",
    'Start to first run done: from spawning the process until its first job run is logged (it includes',
    'waiting for the first slot of the schedule); SIGTERM to exit: how long stopping it takes.',
    '',
    `Command: \`${COMMAND.endsWith('.js') ? 'dist/ping-agent.js' : 'the single executable'} run\`, load average at the end ${loadavg()[0]!.toFixed(1)}.`,
    `Measured ${new Date().toISOString().slice(0, 16)}Z on a 2-core machine; targets: under 10 % of one core and`,
    'at most 100 MB for 10,000 targets every 10 s; requests per run at most ceil(commands / 1,000) + 2.',
    '',
    table,
    '',
  ].join('\n');
  writeFileSync(RESULTS, text);
  process.stdout.write(`written to ${RESULTS}\n`);
}

await main();

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStore } from '../shared/store.ts';
import { startTestBackend, type TestBackend } from '../test/support/backend.ts';

// `npm run bench:footprint`: what one agent costs on Upstash, as Redis itself counts it. The
// shipped command (`ping-agent run`, its default settings) runs against redis-server behind the
// gateway, with no jobs, with 1,000 and with 10,000 loopback targets every 10 s. After its first
// run, CONFIG RESETSTAT; at the end of the window, INFO commandstats (commands by type) and INFO
// stats (total_net_input_bytes / total_net_output_bytes: the RESP bytes between the gateway and
// Redis, which is what a Redis server sees; the HTTPS+JSON bytes to Upstash are a little larger),
// both extrapolated to a 30-day month. Memory per (agent, IP) at full retention: the agent's own
// history code is fed 30 days of runs on a fake clock, its writes go to Redis, and MEMORY USAGE is
// summed over the IP's keys. The same is measured for the code before the footprint work, from a
// clean clone of that commit (--before <commit>, default the parent of the first footprint commit).
//
// Options: --seconds N (window per scenario, default 80), --warm-runs N (default 6), --before <commit>,
// --only new|old, --out <file>.

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SECONDS = Math.max(30, Number(arg('--seconds') ?? 80));
const WARM_RUNS = Math.max(1, Number(arg('--warm-runs') ?? 6));
const REPO = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = arg('--out') ?? fileURLToPath(new URL('./RESULTS-footprint.md', import.meta.url));
const MONTH_S = 30 * 86_400;

interface Scenario {
  key: string;
  targets: number;
}
const SCENARIOS: Scenario[] = [
  { key: 'no jobs', targets: 0 },
  { key: '1,000 targets every 10 s', targets: 1_000 },
  { key: '10,000 targets every 10 s', targets: 10_000 },
];

interface Measured {
  scenario: Scenario;
  seconds: number;
  runs: number;
  commands: Map<string, number>;
  bytesIn: number;
  bytesOut: number;
  /** History blocks the agent wrote inside the window (their MSET entries, as RESP bytes). */
  blocks: { entries: number; bytes: number };
}

function loopbackTargets(count: number): string[] {
  const out: string[] = [];
  for (let n = 1; out.length < count; n++) {
    const last = n & 255;
    if (last === 0 || last === 255) continue;
    out.push(`127.70.${(n >> 8) & 255}.${last}`);
  }
  return out;
}

function redisCli(port: number, ...args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
}

function commandStats(port: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of redisCli(port, 'INFO', 'commandstats').split('\n')) {
    const m = /^cmdstat_([a-z|_-]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * The history blocks written inside the window: block keys whose idle time is within it (nothing
 * reads them while the agent runs, and each is written at most once in 20 minutes), counted as the
 * RESP bytes of their MSET entries. They come in bursts (an IP's minute block every 20 minutes at
 * its own minute, its day of hours once an hour), so a short window holds more or fewer of them than
 * its share: they are taken out of the window's bytes and counted per month from the agent's code.
 */
function blockWritesIn(port: number, seconds: number): { entries: number; bytes: number } {
  const script = `local n, b = 0, 0
for _, pattern in ipairs({'*ip-minute-block_*', '*ip-hour-block_*'}) do
  for _, k in ipairs(redis.call('KEYS', pattern)) do
    if redis.call('OBJECT', 'IDLETIME', k) <= tonumber(ARGV[1]) then
      local v = redis.call('STRLEN', k)
      n = n + 1
      b = b + #k + v + #tostring(#k) + #tostring(v) + 6
    end
  end
end
return {n, b}`;
  const [entries, bytes] = redisCli(port, 'EVAL', script, '0', String(Math.ceil(seconds)))
    .trim()
    .split('\n');
  return { entries: Number(entries), bytes: Number(bytes) };
}

/** RESP bytes of one MSET entry: `$<len>` CRLF key CRLF `$<len>` CRLF value CRLF. */
function respEntryBytes(key: string, value: string): number {
  const k = Buffer.byteLength(key);
  const v = Buffer.byteLength(value);
  return k + v + String(k).length + String(v).length + 6;
}

function netBytes(port: number): { input: number; output: number } {
  const text = redisCli(port, 'INFO', 'stats');
  const read = (field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(text)?.[1] ?? 0);
  return { input: read('total_net_input_bytes'), output: read('total_net_output_bytes') };
}

/** Starts `ping-agent run` from a checkout, as systemd would; resolves the number of runs seen. */
function startAgent(checkout: string, backend: TestBackend, spool: string) {
  const child: ChildProcess = spawn(process.execPath, [join(checkout, 'bin/ping-agent.js'), 'run'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/',
      UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
      UPSTASH_REDIS_REST_TOKEN: backend.token,
      PING_AGENT_NAME: 'bench',
      PING_AGENT_SPOOL_DIR: spool,
      PING_AGENT_RATE_PPS: '50000',
      PING_AGENT_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let runs = 0;
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.includes('"msg":"job run"')) runs++;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    runs: () => runs,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function measure(checkout: string, scenario: Scenario): Promise<Measured> {
  const backend = await startTestBackend();
  const spool = await mkdtemp(join(tmpdir(), 'bench-footprint-'));
  const store = createStore(backend.redis);
  if (scenario.targets > 0) {
    await store.groups.replace('bench', loopbackTargets(scenario.targets));
    await store.jobs.put('bench', { SPEC: '*/10 * * * * *', name: 'probe', group: ['bench'] });
  }
  const agent = startAgent(checkout, backend, spool);
  try {
    // The window opens after start-up and, with jobs, after WARM_RUNS runs: the first runs write
    // every status (the IPs are new, and the cumulative RTT average moves fast while it has few
    // samples), which happens once in an agent's life, not every month.
    const deadline = Date.now() + (scenario.targets > 0 ? WARM_RUNS * 10_000 + 60_000 : 5_000);
    while (Date.now() < deadline && (scenario.targets === 0 || agent.runs() < WARM_RUNS)) {
      await new Promise((r) => setTimeout(r, 200));
    }
    redisCli(backend.redisPort, 'CONFIG', 'RESETSTAT');
    const runsBefore = agent.runs();
    const started = Date.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const seconds = (Date.now() - started) / 1000;
    const commands = commandStats(backend.redisPort);
    const bytes = netBytes(backend.redisPort);
    const blocks = blockWritesIn(backend.redisPort, seconds);
    return {
      scenario,
      seconds,
      runs: agent.runs() - runsBefore,
      commands,
      bytesIn: bytes.input,
      bytesOut: bytes.output,
      blocks,
    };
  } finally {
    await agent.stop();
    await backend.close();
    await rm(spool, { recursive: true, force: true });
  }
}

/** The commands a scenario costs a month: what Redis counted, minus the benchmark's own INFO/CONFIG. */
function monthly(m: Measured): { total: number; byType: [string, number][] } {
  // The benchmark's own INFO/CONFIG, and the gateway's keep-alive PING on the Redis connection
  // behind a subscription (every 15 s): the gateway's, not the agent's; Upstash bills the client.
  const mine = new Set(['info', 'config|resetstat', 'config', 'ping', 'eval', 'keys', 'object', 'strlen']);
  const byType = [...m.commands.entries()]
    .filter(([name]) => !mine.has(name))
    .map(([name, calls]): [string, number] => [name, (calls / m.seconds) * MONTH_S])
    .sort((a, b) => b[1] - a[1]);
  return { total: byType.reduce((s, [, n]) => s + n, 0), byType };
}

// ---- memory per (agent, IP) at full retention, filled by the agent's own code on a fake clock

const AGENT = 'bench';
const IP = '198.18.7.7';

async function memoryNew(backend: TestBackend, checkout: string): Promise<number> {
  const { HistoryBuckets } = await import(join(checkout, 'agent/daemon/history-buckets.ts'));
  const { PendingBlocks } = await import(join(checkout, 'agent/daemon/pending-blocks.ts'));
  const { keySchema } = await import(join(checkout, 'shared/keys.ts'));
  const keys = keySchema();
  const history = new HistoryBuckets();
  const blocks = new PendingBlocks(AGENT, keys);
  const latest = new Map<string, string>();
  const start = 1_700_000_000 - (1_700_000_000 % 86_400);
  for (let t = start; t < start + 31 * 86_400; t += 10) {
    const finished: unknown[] = [];
    history.add(IP, 1, [0.04 + (t % 7) * 0.003], t, finished);
    const entries: [string, string][] = [];
    blocks.add(finished, entries);
    for (const [k, v] of entries) latest.set(k, v);
  }
  latest.set(keys.ipStatus(AGENT, IP), statusJson());
  await backend.redis.mset(Object.fromEntries(latest));
  return sumMemory(backend, [...latest.keys()]);
}

async function memoryOld(backend: TestBackend, checkout: string): Promise<number> {
  const { HistoryBuckets } = await import(join(checkout, 'agent/daemon/history-buckets.ts'));
  const { resultCommands, queueResultCommand } = await import(join(checkout, 'shared/store/results.ts'));
  const { keySchema } = await import(join(checkout, 'shared/keys.ts'));
  const keys = keySchema();
  const build = resultCommands({ keys });
  const history = new HistoryBuckets();
  const start = 1_700_000_000 - (1_700_000_000 % 86_400);
  const end = start + 31 * 86_400;
  let p = backend.redis.pipeline();
  let queued = 0;
  for (let t = start; t < end; t += 10) {
    const finished: { ip: string; resolution: string; point: unknown }[] = [];
    history.add(IP, 1, [0.04 + (t % 7) * 0.003], t, finished);
    for (const f of finished) {
      // Only what the retention keeps at the end (the old code trimmed hourly; the result is the same).
      const keep = f.resolution === 'minute' ? 86_400 : 30 * 86_400;
      if ((f.point as { t: number }).t < end - keep) continue;
      queueResultCommand(p, build.historyPoint(AGENT, f.ip, f.resolution, f.point));
      if (++queued % 500 === 0) {
        await p.exec();
        p = backend.redis.pipeline();
      }
    }
  }
  await p.exec();
  await backend.redis.set(keys.ipStatus(AGENT, IP), statusJson());
  return sumMemory(backend, [keys.ipStatus(AGENT, IP), keys.ipMinutes(AGENT, IP), keys.ipHours(AGENT, IP)]);
}

/**
 * The bytes of history blocks one IP costs a month, from the agent's own code on a fake clock: a
 * run every 10 s (one probe each, as the benchmark's job) for three days; the entries the last two
 * days hand to the MSET, as RESP bytes, scaled to 30 days.
 */
async function historyBytesPerIpMonth(checkout: string): Promise<number> {
  const { HistoryBuckets } = await import(join(checkout, 'agent/daemon/history-buckets.ts'));
  const { PendingBlocks } = await import(join(checkout, 'agent/daemon/pending-blocks.ts'));
  const { keySchema } = await import(join(checkout, 'shared/keys.ts'));
  const history = new HistoryBuckets();
  const blocks = new PendingBlocks(AGENT, keySchema());
  const ip = '127.70.3.141';
  const start = 1_700_000_000 - (1_700_000_000 % 86_400);
  let bytes = 0;
  for (let t = start; t < start + 3 * 86_400; t += 10) {
    const finished: unknown[] = [];
    history.add(ip, 1, [0.04 + (t % 7) * 0.003], t, finished);
    const entries: [string, string][] = [];
    blocks.add(finished, entries);
    if (t >= start + 86_400) for (const [k, v] of entries) bytes += respEntryBytes(k, v);
  }
  return (bytes / 2) * 30;
}

function statusJson(): string {
  return JSON.stringify({
    ip: IP,
    send_count: 267_840,
    return_count: 267_839,
    err: null,
    rtt_last_ms: 0.045,
    rtt_min_ms: 0.021,
    rtt_avg_ms: 0.049,
    rtt_max_ms: 1.204,
    rtt_mdev_ms: 0.011,
    ttl: 64,
    loss_window: 0,
    window_s: 60,
    updated_at: new Date().toISOString(),
  });
}

function sumMemory(backend: TestBackend, keyList: string[]): number {
  let total = 0;
  for (const key of keyList) total += Number(redisCli(backend.redisPort, 'MEMORY', 'USAGE', key).trim() || 0);
  return total;
}

// ---- the report

const UPSTASH = {
  freeCommands: 500_000,
  freeBandwidthGb: 10,
  paygPer100k: 0.2,
  paygFreeBandwidthGb: 200,
  paygPerGb: 0.03,
};

function costRow(label: string, commands: number, gb: number): string {
  const free = commands <= UPSTASH.freeCommands && gb <= UPSTASH.freeBandwidthGb ? 'fits' : 'over';
  const payg =
    (commands / 100_000) * UPSTASH.paygPer100k +
    Math.max(0, gb - UPSTASH.paygFreeBandwidthGb) * UPSTASH.paygPerGb;
  return `| ${label} | ${fmt(commands)} | ${gb.toFixed(2)} GB | ${free} | $${payg.toFixed(2)} |`;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');

async function main(): Promise<void> {
  const only = arg('--only');
  // The commit before the one that made the agent write MSETs (whoever committed it).
  const firstMset = execFileSync(
    'git',
    ['-C', REPO, 'log', '-SmsetCommands', '--format=%H', '--reverse', '--', 'agent/daemon/job-run.ts'],
    { encoding: 'utf8' },
  )
    .trim()
    .split('\n')[0];
  const before = arg('--before') ?? `${firstMset}~`;
  const sides: { name: string; checkout: string }[] = [];
  if (only !== 'old') sides.push({ name: 'new', checkout: REPO });
  let oldDir: string | null = null;
  if (only !== 'new') {
    oldDir = await mkdtemp(join(tmpdir(), 'bench-footprint-old-'));
    execFileSync('git', ['clone', '-q', REPO, oldDir]);
    execFileSync('git', ['-C', oldDir, 'checkout', '-q', before]);
    await symlink(join(REPO, 'node_modules'), join(oldDir, 'node_modules'));
    sides.push({
      name: `before (${execFileSync('git', ['-C', oldDir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()})`,
      checkout: oldDir,
    });
  }
  const results: { side: string; measured: Measured[]; memory: number; historyPerIp: number | null }[] = [];
  try {
    for (const side of sides) {
      const measured: Measured[] = [];
      for (const scenario of SCENARIOS) {
        process.stdout.write(`${side.name}: ${scenario.key}, ${SECONDS} s...\n`);
        measured.push(await measure(side.checkout, scenario));
      }
      const backend = await startTestBackend();
      try {
        const memory =
          side.checkout === REPO
            ? await memoryNew(backend, side.checkout)
            : await memoryOld(backend, side.checkout);
        // The code before wrote its history on every run (ZADDs), so its window holds its share.
        const historyPerIp = side.checkout === REPO ? await historyBytesPerIpMonth(side.checkout) : null;
        results.push({ side: side.name, measured, memory, historyPerIp });
      } finally {
        await backend.close();
      }
    }
  } finally {
    if (oldDir) await rm(oldDir, { recursive: true, force: true });
  }

  const lines: string[] = [];
  lines.push(
    '| code | scenario | runs in window | commands / month | per run (with jobs) | by type (per month) | bytes per run, blocks apart | history blocks / month | bytes in + out / month |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  const costs: string[] = [];
  for (const r of results) {
    for (const m of r.measured) {
      const { total, byType } = monthly(m);
      // Everything but the history blocks scales with time; the blocks are counted per month from
      // the agent's code (their in-window share depends on which boundaries the window holds).
      const steady = m.bytesIn + m.bytesOut - (r.historyPerIp === null ? 0 : m.blocks.bytes);
      const history = r.historyPerIp === null ? 0 : m.scenario.targets * r.historyPerIp;
      const gb = ((steady / m.seconds) * MONTH_S + history) / 1e9;
      const perRunBytes = m.runs > 0 ? `${(steady / m.runs / 1000).toFixed(1)} KB` : '—';
      const historyCell =
        r.historyPerIp === null
          ? 'in the window'
          : `${(history / 1e9).toFixed(2)} GB (${m.blocks.entries} written in the window)`;
      const perRun = m.runs > 0 ? ((total / MONTH_S) * m.seconds) / m.runs : Number.NaN;
      const pings = ((m.commands.get('ping') ?? 0) / m.seconds) * MONTH_S;
      lines.push(
        `| ${r.side} | ${m.scenario.key} | ${m.runs} | ${fmt(total)} (+ ${fmt(pings)} gateway PING) | ${Number.isNaN(perRun) ? '—' : perRun.toFixed(2)} | ${byType
          .slice(0, 6)
          .map(([n, c]) => `${n} ${fmt(c)}`)
          .join(', ')} | ${perRunBytes} | ${historyCell} | ${gb.toFixed(2)} GB |`,
      );
      costs.push(costRow(`${r.side}, ${m.scenario.key}`, total, gb));
    }
  }
  const memoryRows = results.map((r) => `| ${r.side} | ${(r.memory / 1024).toFixed(1)} KB |`);
  const text = [
    '# Footprint benchmark: what one agent costs on Upstash',
    '',
    `\`npm run bench:footprint\` (options \`--seconds N\`, default 80; \`--warm-runs N\`, default 6, here ${WARM_RUNS}; \`--before <commit>\`; \`--only new|old\`; \`--out <file>\`).`,
    'The shipped command, `ping-agent run` with its default settings, against redis-server behind the',
    'gateway; targets are 127.0.0.0/8 addresses (answered by the kernel). Each window opens after the',
    `agent's start-up and, with jobs, its first ${WARM_RUNS} runs (CONFIG RESETSTAT; those write every status, once in an agent's life), and its figures are Redis's own: INFO`,
    'commandstats for commands (calls by type) and INFO stats `total_net_input_bytes` +',
    '`total_net_output_bytes` for bytes (RESP between the gateway and Redis; the HTTPS/JSON bytes',
    'Upstash bills are somewhat larger), scaled to a 30-day month. Bytes, new code: the history',
    "blocks come in bursts (an IP's minute block every 20 minutes at its own minute, its day of",
    'hours once an hour), so a window holds more or fewer of them than its share: those written in',
    'the window (block keys whose OBJECT IDLETIME is within it) are taken out of its bytes, the rest',
    "is scaled by time, and the blocks are added per month as the agent's own history code writes",
    'them on a fake clock (three days of runs every 10 s, the last two counted, times 15, times the',
    'targets). "before" is a clean clone of the commit before the footprint work, measured the same',
    'way (it wrote its history on every run, so its window holds its share). Note: an MSET is',
    'one command however many keys it holds (Upstash bills it as one); commandstats counts it as one call.',
    '',
    `Measured ${new Date().toISOString().slice(0, 16)}Z, ${SECONDS} s per scenario.`,
    '',
    ...lines,
    '',
    '## Redis memory per (agent, IP) at full retention',
    '',
    "30 days of runs every 10 s fed to the agent's own history code on a fake clock, its writes sent",
    "to redis-server, then `MEMORY USAGE` summed over the IP's keys (status and history).",
    '',
    '| code | memory |',
    '|---|---|',
    ...memoryRows,
    '',
    '## What that costs on Upstash',
    '',
    "Prices from Upstash's pricing documentation (checked for this run): free tier 500,000",
    'commands and 10 GB bandwidth a month, 256 MB; pay-as-you-go $0.20 per 100,000 commands, 200 GB',
    'bandwidth a month free then $0.03/GB, first 1 GB of storage free. Fixed plans are a flat monthly',
    'price per data size with no per-command charge (see upstash.com/pricing/redis): for an agent',
    'that fits the free tier they only matter for memory.',
    '',
    '| scenario | commands / month | bandwidth / month | free tier | pay-as-you-go / month |',
    '|---|---|---|---|---|',
    ...costs,
    '',
  ].join('\n');
  writeFileSync(RESULTS, text);
  process.stdout.write(`\n${text}\nwritten to ${RESULTS}\n`);
}

await main();

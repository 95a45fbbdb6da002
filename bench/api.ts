import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { Agent, createServer, request as httpRequest, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keySchema } from '../shared/keys.ts';
import type { IpStatus } from '../shared/schema.ts';
import { buildSummary } from '../shared/summary/build-summary.ts';
import { membershipDigest } from '../shared/summary/membership-digest.ts';
import { startWranglerDev, type WranglerDev } from '../test/e2e/wrangler-dev.ts';
import { startTestBackend } from '../test/support/backend.ts';
import { stopProcessGroup } from '../test/support/process-group.ts';
import { freePort } from '../test/support/redis-server.ts';

// `npm run bench:api`: requests per second and latency of the API on `wrangler dev` (the real
// Workers runtime), beside a bare Hono route on the same runtime:
//
//   GET /v1/check?group=bench   a 1,000-IP group probed by 3 agents (3,000 statuses, seeded), no
//                               summaries: the full read every check falls back to
//   GET /v1/check?group=big     10,000 IPs x 3 agents, with the agents' summaries (healthy)
//   GET /v1/check?group=sick    10,000 IPs x 3 agents, 100 of the IPs losing packets
//   GET /v1/groups/huge/report  the first and second pages of a 65,536-IP group seen by 3 agents
//   GET /v1/groups/bench        the group's 1,000 IPs
//   GET /v1/ping                bench/bare-worker.ts: no auth, no Redis
//
// Between the Worker and the gateway sits a counting proxy, so the Redis HTTP requests (round
// trips) and commands each API request costs are counted, not estimated. Everything shares the
// machine's cores: redis-server, the gateway, workerd, the proxy and the load client.
//
// CPU per request is read from /proc (utime + stime before and after each phase) for three parts,
// printed apart: workerd (the Workers runtime running the Worker: what Workers bills as CPU time,
// plus the runtime's own HTTP work), wrangler's Node process (it relays every request to workerd;
// no such hop exists on Cloudflare), and this process (the gateway, the counting proxy and the
// load client). redis-server is not counted.
//
// Every phase runs twice, on two local set-ups of the same runtime (workerd, through wrangler):
//
//   wrangler dev          the command as developers run it. It always attaches a DevTools
//                         inspector with its Network domain on: each outbound fetch of the Worker
//                         (each Redis request) sends four events, the response body among them, to
//                         an inspector proxy worker, which posts each to wrangler's Node process,
//                         which appends it to a debug log file. That costs several times the
//                         Worker's own CPU per Redis request, on the same two cores.
//   without inspector     wrangler's own dev server (unstable_startWorker) with `inspector: false`,
//                         bench/worker-without-inspector.ts: the same bundle on the same workerd,
//                         without that instrumentation, which does not exist on Cloudflare.
//
// Each set-up has its own bare route; ratios compare routes of the same set-up and run.
//
// Options: --seconds N per phase (default 5, at most 15); --concurrency N (default 8); --direct
// points the Worker straight at the gateway (no counting proxy, so no Redis figures), to see what
// the proxy itself costs; --only TEXT runs only the phases whose name contains TEXT (the bare
// route always runs).

const root = resolve(fileURLToPath(import.meta.url), '../..');
const arg = (name: string, fallback: number, max: number) => {
  const i = process.argv.indexOf(name);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  return Math.min(max, Math.max(1, Number.isFinite(value) ? value : fallback));
};
const SECONDS = arg('--seconds', 5, 15);
const CONCURRENCY = arg('--concurrency', 8, 64);
const DIRECT = process.argv.includes('--direct');
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const TOKEN = 'bench-api-token';
const AGENTS = ['bench-a', 'bench-b', 'bench-c'];
const IPS = Array.from({ length: 1000 }, (_, i) => `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`);
const range = (second: number, n: number) =>
  Array.from({ length: n }, (_, i) => `10.${second + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
/** Groups written as the agents would write them: statuses, summaries and the API's digest. */
const SUMMARIZED = {
  big: { ips: range(1, 10_000), failing: 0 },
  sick: { ips: range(2, 10_000), failing: 100 },
  huge: { ips: range(3, 65_536), failing: 0 },
};

/** Like startWranglerDev, through wrangler's dev server without the DevTools inspector. */
async function startWithoutInspector(vars: Record<string, string>, script?: string): Promise<WranglerDev> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/run-ts.js', 'bench/worker-without-inspector.ts'], {
    cwd: root,
    // No fetch of Cloudflare's `Request.cf` sample: nothing leaves the host.
    env: {
      ...process.env,
      BENCH_WORKER: JSON.stringify({ port, vars, script }),
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  child.stderr?.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`the worker did not start within 60 s:\n${log}`)), 60_000);
    child.stdout?.on('data', (d) => {
      log += d;
      if (log.includes('ready ')) {
        clearTimeout(timer);
        ready();
      }
    });
    void exited.then(() => fail(new Error(`the worker exited before it was ready:\n${log}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    output: () => log,
    stop: () => stopProcessGroup(child.pid!, exited),
  };
}

interface Counts {
  requests: number;
  commands: number;
}

/** Forwards the Worker's Redis requests to the gateway, counting requests and commands. */
async function countingProxy(target: string) {
  const counts: Counts = { requests: 0, commands: 0 };
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      counts.requests++;
      try {
        const parsed = JSON.parse(body.toString('utf8')) as unknown[];
        // `/pipeline` and `/multi-exec` carry an array of commands; `/` carries one command.
        counts.commands += req.url === '/pipeline' || req.url === '/multi-exec' ? parsed.length : 1;
      } catch {
        counts.commands++;
      }
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host, 'content-length': String(body.length) },
          agent,
        },
        (up: IncomingMessage) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      forward.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, counts, close: () => new Promise((r) => server.close(r)) };
}

/** CPU seconds used so far by a process tree (Linux /proc), split into workerd (the Workers
 * runtime: the Worker's own code, the runtime, its fetches) and the rest (wrangler's Node process,
 * which proxies every request to workerd, and esbuild). */
async function treeCpuSeconds(pid: number): Promise<{ workerd: number; wrangler: number }> {
  const children = new Map<number, number[]>();
  const stats = new Map<number, { cpu: number; name: string }>();
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const parent = Number(fields[1]);
      // utime + stime, in clock ticks (100 per second on Linux).
      stats.set(Number(entry), { cpu: (Number(fields[11]) + Number(fields[12])) / 100, name });
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const total = { workerd: 0, wrangler: 0 };
  const walk = (p: number) => {
    const s = stats.get(p);
    if (s) total[s.name.startsWith('workerd') ? 'workerd' : 'wrangler'] += s.cpu;
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return total;
}

interface Phase {
  what: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  redisRequests: number | null;
  redisCommands: number | null;
  /** CPU ms per request of workerd alone (the Worker and its runtime), of wrangler's Node side
   * (it relays each request to workerd), and of this process (gateway, counting proxy, load). */
  workerdCpuMs: number;
  wranglerCpuMs: number;
  benchCpuMs: number;
}

/** Keep-alive GETs from CONCURRENCY loops for `seconds`; latencies in ms. */
async function load(base: string, path: string, seconds: number, token: string | null) {
  const url = new URL(path, base);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const one = () =>
    new Promise<number>((done) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          agent,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        },
        (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
        },
      );
      req.on('error', () => done(0));
      req.end();
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const started = performance.now();
        const status = await one();
        latencies.push(performance.now() - started);
        // 412 is the check's answer for a failing group, not an error.
        if (status !== 200 && status !== 412) errors++;
      }
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), requests: latencies.length, errors };
}

async function seed(redis: Awaited<ReturnType<typeof startTestBackend>>['redis']) {
  const keys = keySchema();
  const p = redis.pipeline();
  p.sadd(keys.group('bench'), IPS[0]!, ...IPS.slice(1));
  p.sadd(keys.groupsList(), 'bench');
  p.sadd(keys.agentList(), AGENTS[0]!, ...AGENTS.slice(1));
  const now = new Date().toISOString();
  for (const agent of AGENTS) {
    const heartbeat = { version: 'bench', hostname: agent, pid: 1, started_at: now, jobs: ['core'] };
    p.set(keys.agentOnline(agent), JSON.stringify(heartbeat), { ex: 3600 });
    p.sadd(keys.agentJobs(agent), 'core');
    p.set(
      keys.agentJob(agent, 'core'),
      JSON.stringify({ SPEC: '*/10 * * * * *', name: 'core', group: ['bench', ...Object.keys(SUMMARIZED)] }),
    );
    for (const ip of IPS) {
      const status = {
        ip,
        send_count: 60,
        return_count: 60,
        err: null,
        rtt_avg_ms: 0.8,
        loss_window: 0,
        updated_at: now,
      };
      p.set(keys.ipStatus(agent, ip), JSON.stringify(status), { ex: 3600 });
    }
  }
  await p.exec();
  for (const [group, { ips, failing }] of Object.entries(SUMMARIZED)) {
    for (let i = 0; i < ips.length; i += 8_000) {
      const m = redis.pipeline();
      m.sadd(keys.group(group), ips[i]!, ...ips.slice(i + 1, i + 8_000));
      await m.exec();
    }
    const w = redis.pipeline();
    w.sadd(keys.groupsList(), group);
    w.set(keys.groupDigest(group), membershipDigest(ips));
    await w.exec();
    for (const agent of AGENTS) {
      const statuses = new Map<string, IpStatus>();
      ips.forEach((ip, i) => {
        const lossy = failing > 0 && i % Math.floor(ips.length / failing) === 0;
        statuses.set(ip, {
          ip,
          send_count: 60,
          return_count: lossy ? 45 : 60,
          err: lossy ? 'timeout (1 of 3 lost)' : null,
          rtt_avg_ms: 0.5 + (i % 97) / 100,
          loss_window: lossy ? 0.25 : 0,
          updated_at: now,
        });
      });
      // A few thousand statuses per request keeps each under the 1 MB request limit.
      for (let i = 0; i < ips.length; i += 4_000) {
        const m = redis.pipeline();
        for (const ip of ips.slice(i, i + 4_000))
          m.set(keys.ipStatus(agent, ip), JSON.stringify(statuses.get(ip)));
        await m.exec();
      }
      const summary = buildSummary({
        members: ips,
        statusOf: (ip) => statuses.get(ip),
        computedAtMs: Date.now(),
      });
      await redis.set(keys.groupSummary(agent, group), JSON.stringify(summary));
    }
  }
}

interface SetUp {
  name: string;
  start(vars: Record<string, string>, script?: string): Promise<WranglerDev>;
}

const SET_UPS: SetUp[] = [
  {
    name: 'wrangler dev',
    start: (vars, script) => startWranglerDev(script ? { vars, script, readyPath: '/v1/ping' } : { vars }),
  },
  { name: 'without inspector', start: startWithoutInspector },
];

async function main() {
  const backend = await startTestBackend();
  const proxy = await countingProxy(backend.gatewayUrl);
  let api: WranglerDev | null = null;
  let bare: WranglerDev | null = null;
  const phases: (Phase & { setUp: string })[] = [];
  try {
    await seed(backend.redis);
    process.stdout.write(
      `seeded 1 group of ${IPS.length} IPs, ${AGENTS.length} agents, ${IPS.length * AGENTS.length} statuses\n`,
    );
    for (const setUp of SET_UPS) {
      // One set-up at a time, so each has the cores to itself.
      api = await setUp.start({
        UPSTASH_REDIS_REST_URL: DIRECT ? backend.gatewayUrl : proxy.url,
        UPSTASH_REDIS_REST_TOKEN: backend.token,
        API_TOKEN: TOKEN,
        WEBHOOK_SECRET: `whsec_${btoa('bench')}`,
      });
      bare = await setUp.start({}, 'bench/bare-worker.ts');
      await measureSetUp(setUp.name, api, bare, proxy, phases);
      await api.stop();
      await bare.stop();
      api = bare = null;
    }
    for (const setUp of SET_UPS) {
      const own = phases.filter((p) => p.setUp === setUp.name);
      const bareRps = own[0]!.rps;
      for (const p of own.slice(1).filter((x) => !x.what.startsWith('GET /v1/groups/'))) {
        const ratio = p.rps / bareRps;
        process.stdout.write(
          `[${setUp.name}] ${p.what}: ratio to bare ${ratio.toFixed(3)} (target >= 0.2: ${ratio >= 0.2 ? 'pass' : 'FAIL'}), ` +
            `workerd CPU ${p.workerdCpuMs.toFixed(2)} ms/req (target <= 10: ${p.workerdCpuMs <= 10 ? 'pass' : 'FAIL'})` +
            (p.redisRequests === null
              ? ', Redis not counted (--direct)\n'
              : `, Redis requests ${p.redisRequests} (parallel ones in one trip count apart; the sequential trips are asserted in shared/store/group-view.test.ts)\n`),
        );
      }
    }
    const out = process.argv.indexOf('--write');
    if (out > 0) {
      const table = phases
        .map(
          (p) =>
            `| ${p.setUp} | ${p.what} | ${p.rps.toFixed(0)} | ${p.p50.toFixed(1)} | ${p.p99.toFixed(1)} | ${p.errors} | ${p.redisRequests ?? '-'} | ${p.redisCommands ?? '-'} |`,
        )
        .join('\n');
      await writeFile(resolve(root, process.argv[out + 1]!), `${table}\n`);
    }
  } finally {
    await api?.stop();
    await bare?.stop();
    await proxy.close();
    await backend.close();
  }
}

/** Every phase on one set-up, bare route first; appends to `phases`. */
async function measureSetUp(
  setUp: string,
  api: WranglerDev,
  bare: WranglerDev,
  proxy: Awaited<ReturnType<typeof countingProxy>>,
  phases: (Phase & { setUp: string })[],
) {
  process.stdout.write(
    `${setUp}: API ${api.url}, bare ${bare.url}; ${SECONDS} s per phase, ${CONCURRENCY} clients\n`,
  );
  const run = async (what: string, runtime: WranglerDev, path: string, token: string | null) => {
    const counted = runtime !== bare && !DIRECT;
    const base = runtime.url;
    if (ONLY !== undefined && runtime !== bare && !what.includes(ONLY)) return;
    await load(base, path, 1, token); // warm-up: JIT, connections, workerd isolates
    const before = { ...proxy.counts };
    const cpuBefore = { runtime: await treeCpuSeconds(runtime.pid), bench: process.cpuUsage() };
    const result = await load(base, path, SECONDS, token);
    const cpuAfter = await treeCpuSeconds(runtime.pid);
    const benchUsage = process.cpuUsage(cpuBefore.bench);
    const benchCpu = (benchUsage.user + benchUsage.system) / 1e6;
    const perRequest = (n: number) => (counted ? Math.round((n / result.requests) * 100) / 100 : null);
    phases.push({
      setUp,
      what,
      ...result,
      redisRequests: perRequest(proxy.counts.requests - before.requests),
      redisCommands: perRequest(proxy.counts.commands - before.commands),
      workerdCpuMs: ((cpuAfter.workerd - cpuBefore.runtime.workerd) * 1000) / result.requests,
      wranglerCpuMs: ((cpuAfter.wrangler - cpuBefore.runtime.wrangler) * 1000) / result.requests,
      benchCpuMs: (benchCpu * 1000) / result.requests,
    });
    const last = phases.at(-1)!;
    process.stdout.write(
      `${what.padEnd(34)} ${last.rps.toFixed(0).padStart(6)} req/s  p50 ${last.p50.toFixed(1)} ms  p99 ${last.p99.toFixed(1)} ms  errors ${last.errors}` +
        `  cpu/req: workerd ${last.workerdCpuMs.toFixed(2)} ms, wrangler ${last.wranglerCpuMs.toFixed(2)} ms, gateway+proxy+load ${last.benchCpuMs.toFixed(2)} ms` +
        (counted
          ? `  redis: ${last.redisRequests} requests, ${last.redisCommands} commands per request`
          : '') +
        '\n',
    );
  };
  await run('bare Hono route (GET /v1/ping)', bare, '/v1/ping', null);
  await run(
    'GET /v1/check (1,000 IPs x 3 agents, full read)',
    api,
    '/v1/check?group=bench&max_loss=0.01',
    TOKEN,
  );
  await run('GET /v1/check (10,000 x 3, healthy)', api, '/v1/check?group=big&max_loss=0.01', TOKEN);
  await run('GET /v1/check (10,000 x 3, 100 failing)', api, '/v1/check?group=sick&max_loss=0.01', TOKEN);
  await run('GET report, 65,536 IPs, first page', api, '/v1/groups/huge/report', TOKEN);
  const firstPage = await fetch(new URL('/v1/groups/huge/report', api.url), {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const firstBytes = await firstPage.arrayBuffer();
  const { cursor } = JSON.parse(new TextDecoder().decode(firstBytes)) as { cursor: string | null };
  await run('GET report, 65,536 IPs, second page', api, `/v1/groups/huge/report?cursor=${cursor}`, TOKEN);
  await run('GET /v1/groups/bench (1,000 IPs)', api, '/v1/groups/bench', TOKEN);
  process.stdout.write(`65,536-IP report, first page: ${firstBytes.byteLength} bytes (target <= 1 MB)\n`);
}

await main();

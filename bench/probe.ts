import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab } from '../test/lab/lab.ts';

// `npm run bench:probe`: ping-agent's probe engine against `fping -i 0` on the same lab targets in
// the same run. The lab gives 60,000 addresses in 198.19.0.0/16 behind one veth pair. Each tool
// runs as its own process under /usr/bin/time (CPU seconds, peak RSS), one probe per target:
//
//   replies/s   replies over the probing time (ours: probe() call to its return, measured inside
//               the process, without Node's start; fping: its whole run, which starts in ms)
//   false loss  targets without a reply (the lab loses nothing, so every one is the tool's fault)
//   CPU s       user + system of the whole process (ours includes Node's start, ~0.1 s)
//   peak MB     maximum resident set; '  semi 1MB' is ours again with --max-semi-space-size=1,
//               which caps V8's young generation (the default lets it grow to 16 MB x 3)
//
// Then the median RTT both report for the same 1,000 targets, probed at a calm 1,000 per second,
// and the difference. With --driver, this file is the ping-agent side of a run (a child process).

const SELF = fileURLToPath(import.meta.url);
const RUN_TS = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));
const TIMEOUT_MS = 3000;

interface Measured {
  replies: number;
  targets: number;
  probeMs: number;
  cpuS: number;
  peakMb: number;
  rtts: (number | null)[];
}

async function driver(file: string, ratePps: number, withRtts: boolean): Promise<void> {
  const { openProbeEngine } = await import('../agent/icmp/engine.ts');
  const targets = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  const engine = await openProbeEngine({ ratePps, maxInFlight: 30_000 });
  const started = performance.now();
  const results = await engine.probe(targets, { count: 1, periodMs: 0, timeoutMs: TIMEOUT_MS, size: 56 });
  const probeMs = performance.now() - started;
  await engine.close();
  // The RTT list only when asked: printing 60,000 of them would be the largest thing in memory.
  const replies = results.filter((r) => r.received > 0).length;
  const rtts = withRtts ? results.map((r) => r.rttsMs[0] ?? null) : [];
  process.stdout.write(`${JSON.stringify({ probeMs, replies, rtts })}\n`);
}

/** Runs a command under /usr/bin/time; returns its stdout, stderr and the time figures. */
function timed(
  argv: string[],
): Promise<{ stdout: string; stderr: string; wallS: number; cpuS: number; peakMb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(guard);
      const line = stderr.split('\n').find((l) => l.startsWith('TIME '));
      if (!line) return reject(new Error(`${argv[0]} failed: ${stderr.slice(-500)}`));
      const [wall, user, sys, rssKb] = line.split(' ').slice(1).map(Number);
      resolve({ stdout, stderr, wallS: wall!, cpuS: user! + sys!, peakMb: rssKb! / 1024 });
    });
  });
}

/**
 * The driver as plain JavaScript: tsx's loader thread alone costs Node about 40 MB, which a
 * deployed agent (bundled or compiled) does not carry. esbuild comes with tsx; without it the
 * driver runs through tsx and the memory figure includes the loader.
 */
async function driverCommand(): Promise<string[]> {
  try {
    const esbuild = await import('esbuild');
    const outfile = fileURLToPath(
      new URL('../node_modules/.cache/ping-agent-bench/probe.mjs', import.meta.url),
    );
    await esbuild.build({
      entryPoints: [SELF],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      external: ['raw-socket', 'vitest', 'esbuild'],
      logLevel: 'error',
    });
    return [process.execPath, outfile];
  } catch (error) {
    console.log(`(esbuild unavailable, the driver runs through tsx: ${(error as Error).message})`);
    return [process.execPath, RUN_TS, SELF];
  }
}

let driverArgv: string[] = [];

async function runOurs(
  file: string,
  targets: number,
  ratePps: number,
  options: { rtts?: boolean; nodeFlags?: string[] } = {},
): Promise<Measured> {
  const [node, ...script] = driverArgv;
  const argv = [node!, ...(options.nodeFlags ?? []), ...script, '--driver', file, String(ratePps)];
  const t = await timed(options.rtts ? [...argv, 'rtts'] : argv);
  const { probeMs, replies, rtts } = JSON.parse(t.stdout.trim().split('\n').at(-1)!) as {
    probeMs: number;
    replies: number;
    rtts: (number | null)[];
  };
  return { replies, targets, probeMs, cpuS: t.cpuS, peakMb: t.peakMb, rtts };
}

async function runFping(file: string, targets: number, intervalMs: number): Promise<Measured> {
  const started = performance.now();
  const t = await timed([
    'fping',
    '-i',
    String(intervalMs),
    '-r',
    '0',
    '-t',
    String(TIMEOUT_MS),
    '-q',
    '-C',
    '1',
    '-f',
    file,
  ]);
  const probeMs = performance.now() - started;
  // -C 1 -q: one "ip : rtt" (or "ip : -") line per target on stderr.
  const byIp = new Map<string, number | null>();
  for (const line of t.stderr.split('\n')) {
    const m = /^(\S+)\s+: (\S+)$/.exec(line);
    if (m) byIp.set(m[1]!, m[2] === '-' ? null : Number(m[2]));
  }
  const ips = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  const rtts = ips.map((ip) => byIp.get(ip) ?? null);
  return {
    replies: rtts.filter((r) => r !== null).length,
    targets,
    probeMs,
    cpuS: t.cpuS,
    peakMb: t.peakMb,
    rtts,
  };
}

const REPEAT = 3;
const rate = (m: Measured) => m.replies / (m.probeMs / 1000);

/** The run with the median rate. */
function pick(list: Measured[]): Measured {
  return [...list].sort((a, b) => rate(a) - rate(b))[Math.floor(list.length / 2)]!;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function main(): Promise<void> {
  driverArgv = await driverCommand();
  const lab = await createLab({ bench: true, targets: 60_000 });
  const dir = await mkdtemp(join(tmpdir(), 'bench-probe-'));
  try {
    console.log(
      `lab: ${lab.targets.length} targets in 198.19.0.0/16 (namespace ${lab.netns}); cores: 2 shared`,
    );
    console.log('');
    console.log('targets | tool       | replies/s | false loss | probing s | CPU s | peak MB');
    console.log('------- | ---------- | --------: | ---------: | --------: | ----: | ------:');
    for (const n of [10_000, 60_000]) {
      const file = join(dir, `targets-${n}.txt`);
      await writeFile(file, `${lab.targets.slice(0, n).join('\n')}\n`);
      // Two cores shared with whatever else runs: each tool runs REPEAT times, alternating, and the
      // run with the median rate is shown (false loss is the worst run's).
      const runs: Record<string, Measured[]> = { ours: [], small: [], fping: [] };
      for (let i = 0; i < REPEAT; i++) {
        runs.ours!.push(await runOurs(file, n, 1_000_000));
        runs.small!.push(await runOurs(file, n, 1_000_000, { nodeFlags: ['--max-semi-space-size=1'] }));
        runs.fping!.push(await runFping(file, n, 0));
      }
      const shown = Object.fromEntries(Object.entries(runs).map(([k, list]) => [k, pick(list)])) as Record<
        string,
        Measured
      >;
      for (const [name, key] of [
        ['ping-agent', 'ours'],
        ['  semi 1MB', 'small'],
        ['fping -i 0', 'fping'],
      ] as const) {
        const m = shown[key]!;
        const worstLoss = Math.max(...runs[key]!.map((r) => r.targets - r.replies));
        console.log(
          `${fmt(n).padStart(7)} | ${name.padEnd(10)} | ${fmt(rate(m)).padStart(9)} | ${fmt(worstLoss).padStart(10)} | ${fmt(m.probeMs / 1000, 2).padStart(9)} | ${fmt(m.cpuS, 2).padStart(5)} | ${fmt(m.peakMb, 1).padStart(7)}`,
        );
      }
      const ratio = rate(shown.ours!) / rate(shown.fping!);
      console.log(
        `${fmt(n).padStart(7)} | ratio      | ${ratio.toFixed(2).padStart(8)}x |            |           |       |`,
      );
    }

    // The same 1,000 targets at 1,000 probes per second: latency, not throughput.
    const file = join(dir, 'targets-rtt.txt');
    await writeFile(file, `${lab.targets.slice(0, 1000).join('\n')}\n`);
    const ours = await runOurs(file, 1000, 1000, { rtts: true });
    const fping = await runFping(file, 1000, 1);
    const both = ours.rtts.flatMap((r, i) =>
      r !== null && fping.rtts[i] !== null ? [[r, fping.rtts[i]!]] : [],
    );
    const mOurs = median(both.map(([a]) => a!));
    const mFping = median(both.map(([, b]) => b!));
    console.log('');
    console.log(`median RTT over the same ${both.length} targets at 1,000/s:`);
    console.log(
      `  ping-agent ${mOurs.toFixed(3)} ms, fping ${mFping.toFixed(3)} ms, difference ${(mOurs - mFping).toFixed(3)} ms`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
    await lab.close();
  }
}

const args = process.argv.slice(2);
if (args[0] === '--driver') await driver(args[1]!, Number(args[2]), args[3] === 'rtts');
else await main();

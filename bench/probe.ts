import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab } from '../test/lab/lab.ts';

// `npm run bench:probe`: the shipped `ping-agent probe` command against `fping -i 0` on the same
// lab targets in the same run. The lab gives 60,000 addresses in 198.19.0.0/16 behind one veth
// pair. Each tool runs as its own process under /usr/bin/time, one probe per target:
//
//   ping-agent  dist/ping-agent.js, the built command that `npm install -g` installs, run as a user
//               runs it: `ping-agent probe -c 1 -t 3000 -r 10000000 -f FILE` (-r lifts the default
//               10,000/s rate cap, as fping's -i 0 lifts its interval), summary lines to a pipe
//   engine      the probe engine alone in a bundled driver process: probe() call to its return,
//               measured inside the process, without Node's start or the command's output
//   binary      the same command as the single executable (release/, `npm run build:binary`),
//               when it has been built
//   fping -i 0  `fping -i 0 -r 0 -t 3000 -q -C 1 -f FILE`
//
//   replies/s   replies over start-to-exit time (engine: over its probe() time)
//   false loss  targets without a reply (the lab loses nothing, so every one is the tool's fault)
//   wall s      start to exit, timed around the process (engine: the probe() call)
//   CPU s       user + system of the whole process
//   peak MB     maximum resident set of the whole process
//
// Then the median RTT both commands report for the same 1,000 targets, probed at a calm 1,000 per
// second, and the difference. With --driver, this file is the engine side of a run (a child).

const SELF = fileURLToPath(import.meta.url);
const RUN_TS = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));
const COMMAND = fileURLToPath(new URL('../dist/ping-agent.js', import.meta.url));
/** The single executable (`npm run build:binary`), measured too when it has been built. */
const BINARY = fileURLToPath(
  new URL(`../release/ping-agent-${process.platform}-${process.arch}`, import.meta.url),
);
const TIMEOUT_MS = 3000;

interface Measured {
  replies: number;
  targets: number;
  /** Start to exit; for the engine, its probe() call. */
  wallMs: number;
  cpuS: number;
  peakMb: number;
  rtts: (number | null)[];
}

async function driver(file: string): Promise<void> {
  const { openProbeEngine } = await import('../agent/icmp/engine.ts');
  const targets = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  const engine = await openProbeEngine({ ratePps: 10_000_000 });
  const started = performance.now();
  const results = await engine.probe(targets, { count: 1, periodMs: 0, timeoutMs: TIMEOUT_MS, size: 56 });
  const probeMs = performance.now() - started;
  await engine.close();
  const replies = results.filter((r) => r.received > 0).length;
  process.stdout.write(`${JSON.stringify({ probeMs, replies })}\n`);
}

/** Runs a command under /usr/bin/time; returns its output, start-to-exit time and the time figures. */
function timed(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stdout: string; stderr: string; wallMs: number; cpuS: number; peakMb: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
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
      const wallMs = performance.now() - started;
      clearTimeout(guard);
      const line = stderr.split('\n').find((l) => l.startsWith('TIME '));
      if (!line) return reject(new Error(`${argv[0]} failed: ${stderr.slice(-500)}`));
      const [, user, sys, rssKb] = line.split(' ').slice(1).map(Number);
      resolve({ stdout, stderr, wallMs, cpuS: user! + sys!, peakMb: rssKb! / 1024 });
    });
  });
}

/** The engine driver as plain JavaScript (an esbuild bundle of this file), as the command is. */
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

async function runEngine(file: string, targets: number): Promise<Measured> {
  const t = await timed([...driverArgv, '--driver', file]);
  const { probeMs, replies } = JSON.parse(t.stdout.trim().split('\n').at(-1)!) as {
    probeMs: number;
    replies: number;
  };
  return { replies, targets, wallMs: probeMs, cpuS: t.cpuS, peakMb: t.peakMb, rtts: [] };
}

/** `ping-agent probe`, the built command; one summary line per target on stdout. */
async function runCommand(
  file: string,
  targets: number,
  ratePps: number,
  nodeOptions?: string,
  command = COMMAND,
): Promise<Measured> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  const t = await timed(
    [command, 'probe', '-c', '1', '-t', String(TIMEOUT_MS), '-r', String(ratePps), '-f', file],
    env,
  );
  const byIp = new Map<string, number | null>();
  for (const line of t.stdout.split('\n')) {
    const m = /^(\S+)\s+: xmt\/rcv\/%loss = \d+\/(\d+)\/\d+%(?:, min\/avg\/max = ([\d.]+))?/.exec(line);
    if (m) byIp.set(m[1]!, m[2] === '0' ? null : Number(m[3]));
  }
  const ips = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  const rtts = ips.map((ip) => byIp.get(ip) ?? null);
  return {
    replies: rtts.filter((r) => r !== null).length,
    targets,
    wallMs: t.wallMs,
    cpuS: t.cpuS,
    peakMb: t.peakMb,
    rtts,
  };
}

async function runFping(file: string, targets: number, intervalMs: number): Promise<Measured> {
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
    wallMs: t.wallMs,
    cpuS: t.cpuS,
    peakMb: t.peakMb,
    rtts,
  };
}

const REPEAT = 3;
const rate = (m: Measured) => m.replies / (m.wallMs / 1000);

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

/** Extra runs of the command with NODE_OPTIONS, e.g. `--max-semi-space-size=1`, to see what a flag buys. */
const flagArg = process.argv.indexOf('--node-options');
const EXTRA_NODE_OPTIONS = flagArg > 0 ? process.argv[flagArg + 1] : undefined;

async function main(): Promise<void> {
  try {
    await access(COMMAND);
  } catch {
    throw new Error(`${COMMAND} is missing: run npm run build first`);
  }
  driverArgv = await driverCommand();
  const hasBinary = existsSync(BINARY);
  const lab = await createLab({ bench: true, targets: 60_000 });
  const dir = await mkdtemp(join(tmpdir(), 'bench-probe-'));
  try {
    console.log(
      `lab: ${lab.targets.length} targets in 198.19.0.0/16 (namespace ${lab.netns}); cores: 2 shared; load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log('');
    console.log('targets | tool       | replies/s | false loss | wall s | CPU s | peak MB');
    console.log('------- | ---------- | --------: | ---------: | -----: | ----: | ------:');
    for (const n of [10_000, 60_000]) {
      const file = join(dir, `targets-${n}.txt`);
      await writeFile(file, `${lab.targets.slice(0, n).join('\n')}\n`);
      // Two cores shared with whatever else runs: each tool runs REPEAT times, alternating, and the
      // run with the median rate is shown (false loss is the worst run's).
      const rows: [string, string][] = [
        ['ping-agent', 'command'],
        ...(EXTRA_NODE_OPTIONS
          ? ([[`  ${EXTRA_NODE_OPTIONS.slice(0, 20)}`, 'flagged']] as [string, string][])
          : []),
        ...(hasBinary ? ([['  binary', 'binary']] as [string, string][]) : []),
        ['  engine', 'engine'],
        ['fping -i 0', 'fping'],
      ];
      const runs: Record<string, Measured[]> = {
        command: [],
        flagged: [],
        binary: [],
        engine: [],
        fping: [],
      };
      for (let i = 0; i < REPEAT; i++) {
        runs.command!.push(await runCommand(file, n, 10_000_000));
        if (EXTRA_NODE_OPTIONS) runs.flagged!.push(await runCommand(file, n, 10_000_000, EXTRA_NODE_OPTIONS));
        if (hasBinary) runs.binary!.push(await runCommand(file, n, 10_000_000, undefined, BINARY));
        runs.engine!.push(await runEngine(file, n));
        runs.fping!.push(await runFping(file, n, 0));
      }
      const shown = Object.fromEntries(
        Object.entries(runs)
          .filter(([, list]) => list.length > 0)
          .map(([k, list]) => [k, pick(list)]),
      ) as Record<string, Measured>;
      for (const [name, key] of rows) {
        const m = shown[key]!;
        const worstLoss = Math.max(...runs[key]!.map((r) => r.targets - r.replies));
        console.log(
          `${fmt(n).padStart(7)} | ${name.padEnd(10)} | ${fmt(rate(m)).padStart(9)} | ${fmt(worstLoss).padStart(10)} | ${fmt(m.wallMs / 1000, 2).padStart(6)} | ${fmt(m.cpuS, 2).padStart(5)} | ${fmt(m.peakMb, 1).padStart(7)}`,
        );
      }
      const ratio = (key: string) => (rate(shown[key]!) / rate(shown.fping!)).toFixed(2);
      console.log(
        `${fmt(n).padStart(7)} | ratio to fping: command ${ratio('command')}x start to exit, engine ${ratio('engine')}x`,
      );
    }

    // Start to first probe: one target, one probe, start to exit (median of five), so the time is
    // the process starting, sending and printing.
    const one = join(dir, 'targets-1.txt');
    await writeFile(one, `${lab.targets[0]}\n`);
    const single = async (run: () => Promise<Measured>) => {
      const list: Measured[] = [];
      for (let i = 0; i < 5; i++) list.push(await run());
      return { ms: median(list.map((m) => m.wallMs)), mb: median(list.map((m) => m.peakMb)) };
    };
    const starts: [string, { ms: number; mb: number }][] = [
      ['ping-agent', await single(() => runCommand(one, 1, 10_000))],
      ...(hasBinary
        ? ([['binary', await single(() => runCommand(one, 1, 10_000, undefined, BINARY))]] as [
            string,
            { ms: number; mb: number },
          ][])
        : []),
      ['fping', await single(() => runFping(one, 1, 0))],
    ];
    console.log('');
    console.log('one target, one probe, start to exit (median of 5):');
    for (const [name, f] of starts)
      console.log(`  ${name.padEnd(10)} ${f.ms.toFixed(0)} ms, ${f.mb.toFixed(1)} MB`);

    // The same 1,000 targets at 1,000 probes per second: latency, not throughput.
    const file = join(dir, 'targets-rtt.txt');
    await writeFile(file, `${lab.targets.slice(0, 1000).join('\n')}\n`);
    const ours = await runCommand(file, 1000, 1000);
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
if (args[0] === '--driver') await driver(args[1]!);
else await main();

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import { createLab, type Lab } from '../lab/lab.ts';
import { describeLab, labMissing } from '../lab/require-lab.ts';
import { startTestBackend, type TestBackend } from '../support/backend.ts';

// The single executable (`npm run build:binary`, issue 16) as a field host runs it: copied alone
// into an empty directory and run in a mount namespace where no `node` executable and no
// node_modules directory are visible (empty files and directories bind-mounted over them), against
// the network lab and a real gateway. .ci/run builds the binary before the tests; locally, run
// `npm run build:binary` first (without it, or with one older than the sources, this file skips;
// in CI it fails).

const repo = fileURLToPath(new URL('../..', import.meta.url));
const built = (arch: string) => join(repo, 'release', `ping-agent-${process.platform}-${arch}`);
const keys = keySchema();

/** Newest modification time of what goes into a binary, so a binary older than it is not tested. */
function newestSource(): number {
  let newest = 0;
  const visit = (path: string) => {
    const info = statSync(path);
    if (info.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else newest = Math.max(newest, info.mtimeMs);
  };
  for (const part of ['agent', 'shared', 'gateway', 'scripts', 'package.json', 'package-lock.json']) {
    visit(join(repo, part));
  }
  return newest;
}
const current = (arch: string) => existsSync(built(arch)) && statSync(built(arch)).mtimeMs >= newestSource();

if (!labMissing && !current(process.arch) && process.env.CI === 'true') {
  throw new Error(
    `${built(process.arch)} is missing or older than the sources: CI builds it with npm run build:binary before the tests`,
  );
}

/**
 * This machine's binary, and on x64 the arm64 one (`npm run build:binary -- --arch arm64`) under
 * qemu-user with Debian's arm64 libraries (g++-aarch64-linux-gnu brings them), when both are here.
 */
const hasCommand = (name: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const TARGETS = [
  { arch: process.arch, runner: [] as string[] },
  ...(process.arch === 'x64'
    ? [{ arch: 'arm64', runner: ['qemu-aarch64', '-L', '/usr/aarch64-linux-gnu'] }]
    : []),
].map((t) => ({
  ...t,
  // Locally a missing or stale binary skips (`npm run build:binary` first); in CI it fails above.
  available: current(t.arch) && (t.runner.length === 0 || hasCommand(t.runner[0]!)),
}));

/** Every node executable on PATH and every node_modules directory the binary could otherwise find. */
function hiddenPaths(): { files: string[]; dirs: string[] } {
  const files = execFileSync('sh', ['-c', 'which -a node nodejs || true'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const dirs = [
    join(repo, 'node_modules'),
    '/usr/lib/node_modules',
    '/usr/local/lib/node_modules',
    '/usr/share/nodejs',
  ].filter((d) => existsSync(d));
  return { files, dirs };
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let cache: string;
let isolate: string;

/** Runs argv inside a fresh mount namespace with node and node_modules hidden. */
function isolated(argv: string[], env: Record<string, string> = {}) {
  return spawn('unshare', ['-m', 'sh', isolate, ...argv], {
    cwd: dir,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', XDG_CACHE_HOME: cache, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function outcome(child: ReturnType<typeof isolated>): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const runIsolated = (argv: string[], env?: Record<string, string>) => outcome(isolated(argv, env));

beforeAll(async () => {
  if (labMissing || !TARGETS.some((t) => t.available)) return;
  dir = await mkdtemp(join(tmpdir(), 'ping-agent-binary-'));
  await mkdir(join(dir, 'bin'));
  await mkdir(join(dir, 'empty'));
  await writeFile(join(dir, 'empty-file'), '');
  cache = join(dir, 'cache');
  const { files, dirs } = hiddenPaths();
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  isolate = join(dir, 'isolate.sh');
  await writeFile(
    isolate,
    [
      'set -e',
      ...files.map((f) => `mount --bind ${q(join(dir, 'empty-file'))} ${q(f)}`),
      ...dirs.map((d) => `mount --bind ${q(join(dir, 'empty'))} ${q(d)}`),
      'exec "$@"',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

for (const { arch, runner, available } of TARGETS) {
  // Under qemu everything is several times slower.
  const slow = runner.length > 0 ? 4 : 1;
  (available ? describeLab : describeLab.skip)(
    `the ${arch} single executable, with no node and no node_modules in sight`,
    () => {
      let lab: Lab;
      let backend: TestBackend;
      let binary: string;
      /** The binary as argv, behind qemu for another CPU. */
      let exe: string[];

      beforeAll(async () => {
        binary = join(dir, 'bin', `ping-agent-linux-${arch}`);
        await copyFile(built(arch), binary);
        execFileSync('chmod', ['755', binary]);
        exe = [...runner, binary];
        lab = await createLab({ targets: 3 });
        backend = await startTestBackend();
      });

      afterAll(async () => {
        await lab?.close();
        await backend?.close();
      });

      it(
        'sees neither node nor node_modules, and prints its version',
        async () => {
          const look = await runIsolated([
            'sh',
            '-c',
            `command -v node || echo no-node; ls -A ${join(repo, 'node_modules')} | wc -l`,
          ]);
          expect(look.stdout.split('\n').slice(0, 2)).toEqual(['no-node', '0']);
          const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
          const version = await runIsolated([...exe, '--version']);
          expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
          const dev = await runIsolated([...exe, 'dev']);
          expect(dev).toMatchObject({
            code: 2,
            stderr: expect.stringMatching(/^ping-agent dev: .*checkout/),
          });
        },
        30_000 * slow,
      );

      it(
        'probes the lab targets, every probe answered, and keeps the addon in a private cache',
        async () => {
          const out = await runIsolated([...exe, 'probe', '-c', '3', '-p', '50', '--json', ...lab.targets]);
          expect(out.stderr).toBe('');
          expect(out.code).toBe(0);
          const { targets } = JSON.parse(out.stdout) as {
            targets: { ip: string; sent: number; received: number }[];
          };
          expect(targets.map((t) => [t.ip, t.sent, t.received])).toEqual(lab.targets.map((ip) => [ip, 3, 3]));
          const cached = await stat(join(cache, 'ping-agent'));
          expect(cached.mode & 0o777).toBe(0o700);
        },
        30_000 * slow,
      );

      it(
        'runs the agent: registers, heartbeats and writes a status through the gateway, stops on SIGTERM',
        async () => {
          const name = `binary-${arch}`;
          const ip = lab.targets[0]!;
          await backend.redis.sadd(keys.group('lab'), ip);
          await backend.redis.sadd(keys.groupsList(), 'lab');
          await backend.redis.set(
            keys.agentJob(name, 'core'),
            JSON.stringify({ SPEC: '*/1 * * * * *', name: 'core', group: ['lab'], timeout_ms: 400 }),
          );
          await backend.redis.sadd(keys.agentJobs(name), 'core');
          const agent = isolated([...exe, 'run'], {
            UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
            UPSTASH_REDIS_REST_TOKEN: backend.token,
            PING_AGENT_NAME: name,
            PING_AGENT_SPOOL_DIR: join(dir, `spool-${arch}`),
            PING_AGENT_CONFIG_POLL_MS: '300',
          });
          const done = outcome(agent);
          try {
            const deadline = Date.now() + 20_000 * slow;
            while (!(await backend.redis.get(keys.ipStatus(name, ip)))) {
              if (Date.now() > deadline || agent.exitCode !== null) {
                agent.kill('SIGKILL');
                const { stdout, stderr } = await done;
                throw new Error(`no status from the binary; its output:\n${(stdout + stderr).slice(-2000)}`);
              }
              await new Promise((r) => setTimeout(r, 200));
            }
            expect(await backend.redis.sismember(keys.agentList(), name)).toBe(1);
            const heartbeat = JSON.parse((await backend.redis.get<string>(keys.agentOnline(name)))!);
            expect(heartbeat).toMatchObject({ pid: agent.pid, jobs: ['core'] });
            agent.kill('SIGTERM');
            expect((await done).code).toBe(0);
          } finally {
            if (agent.exitCode === null) agent.kill('SIGKILL');
          }
        },
        40_000 * slow,
      );

      it(
        'serves the Upstash REST protocol as `gateway`, and `check` answers its usage',
        async () => {
          const gateway = isolated([...exe, 'gateway', '--port', '0', '--redis-url', backend.redisUrl], {
            UPSTASH_REDIS_REST_TOKEN: 'binary-gateway-token',
          });
          let log = '';
          gateway.stderr!.on('data', (d) => {
            log += d;
          });
          gateway.stdout!.on('data', (d) => {
            log += d;
          });
          const exited = new Promise((r) => gateway.once('exit', r));
          try {
            let url: string | undefined;
            const deadline = Date.now() + 10_000 * slow;
            while (!url) {
              url = /serving (http:\/\/\S+) in front/.exec(log)?.[1];
              if (!url && (Date.now() > deadline || gateway.exitCode !== null)) {
                throw new Error(`the binary's gateway did not start:\n${log}`);
              }
              await new Promise((r) => setTimeout(r, 100));
            }
            const response = await fetch(url, {
              method: 'POST',
              headers: { authorization: 'Bearer binary-gateway-token' },
              body: JSON.stringify(['PING']),
            });
            expect(await response.json()).toEqual({ result: 'PONG' });
          } finally {
            gateway.kill('SIGTERM');
            await exited;
          }
          const check = await runIsolated([...exe, 'check', '--help']);
          expect(check).toMatchObject({
            code: 0,
            stdout: expect.stringMatching(/^usage: ping-agent check /),
          });
        },
        30_000 * slow,
      );

      it(
        'without CAP_NET_RAW says how to grant it and exits 2',
        async () => {
          const out = await runIsolated([
            'setpriv',
            '--inh-caps=-net_raw',
            '--bounding-set=-net_raw',
            ...exe,
            'probe',
            '-c',
            '1',
            lab.targets[0]!,
          ]);
          expect(out.code).toBe(2);
          expect(out.stdout).toBe('');
          expect(out.stderr).toMatch(/^ping-agent probe: .*CAP_NET_RAW.*AmbientCapabilities=CAP_NET_RAW\n$/);
          // The capability has to go on the binary, not on a node it does not use.
          expect(out.stderr).toContain(`setcap cap_net_raw+ep "${binary}"`);
        },
        30_000 * slow,
      );
    },
  );
}

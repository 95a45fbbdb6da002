import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
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
// `npm run build:binary` first (without it this file skips, in CI it fails).

const repo = fileURLToPath(new URL('../..', import.meta.url));
const BUILT = join(repo, 'release', `ping-agent-${process.platform}-${process.arch}`);
const keys = keySchema();

if (!labMissing && !existsSync(BUILT) && process.env.CI === 'true') {
  throw new Error(`${BUILT} is missing: CI builds it with npm run build:binary before the tests`);
}
const describeBinary = existsSync(BUILT) ? describeLab : describeLab.skip;

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
let binary: string;
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
  if (labMissing || !existsSync(BUILT)) return;
  dir = await mkdtemp(join(tmpdir(), 'ping-agent-binary-'));
  await mkdir(join(dir, 'bin'));
  await mkdir(join(dir, 'empty'));
  await writeFile(join(dir, 'empty-file'), '');
  cache = join(dir, 'cache');
  binary = join(dir, 'bin', 'ping-agent-linux-x64');
  await copyFile(BUILT, binary);
  execFileSync('chmod', ['755', binary]);
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

describeBinary('the single executable, with no node and no node_modules in sight', () => {
  let lab: Lab;
  let backend: TestBackend;

  beforeAll(async () => {
    lab = await createLab({ targets: 3 });
    backend = await startTestBackend();
  });

  afterAll(async () => {
    await lab?.close();
    await backend?.close();
  });

  it('sees neither node nor node_modules, and prints its version', async () => {
    const look = await runIsolated([
      'sh',
      '-c',
      `command -v node || echo no-node; ls -A ${join(repo, 'node_modules')} | wc -l`,
    ]);
    expect(look.stdout.split('\n').slice(0, 2)).toEqual(['no-node', '0']);
    const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
    const version = await runIsolated([binary, '--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const dev = await runIsolated([binary, 'dev']);
    expect(dev).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ping-agent dev: .*checkout/) });
  });

  it('probes the lab targets, every probe answered, and keeps the addon in a private cache', async () => {
    const out = await runIsolated([binary, 'probe', '-c', '3', '-p', '50', '--json', ...lab.targets]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const { targets } = JSON.parse(out.stdout) as {
      targets: { ip: string; sent: number; received: number }[];
    };
    expect(targets.map((t) => [t.ip, t.sent, t.received])).toEqual(lab.targets.map((ip) => [ip, 3, 3]));
    const cached = await stat(join(cache, 'ping-agent'));
    expect(cached.mode & 0o777).toBe(0o700);
  });

  it('runs the agent: registers, heartbeats and writes a status through the gateway, stops on SIGTERM', async () => {
    const name = 'binary';
    const ip = lab.targets[0]!;
    await backend.redis.sadd(keys.group('lab'), ip);
    await backend.redis.sadd(keys.groupsList(), 'lab');
    await backend.redis.set(
      keys.agentJob(name, 'core'),
      JSON.stringify({ SPEC: '*/1 * * * * *', name: 'core', group: ['lab'], timeout_ms: 400 }),
    );
    await backend.redis.sadd(keys.agentJobs(name), 'core');
    const agent = isolated([binary, 'run'], {
      UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
      UPSTASH_REDIS_REST_TOKEN: backend.token,
      PING_AGENT_NAME: name,
      PING_AGENT_SPOOL_DIR: join(dir, 'spool'),
      PING_AGENT_CONFIG_POLL_MS: '300',
    });
    const done = outcome(agent);
    try {
      const deadline = Date.now() + 20_000;
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
  }, 40_000);

  it('without CAP_NET_RAW says how to grant it and exits 2', async () => {
    const out = await runIsolated([
      'setpriv',
      '--inh-caps=-net_raw',
      '--bounding-set=-net_raw',
      binary,
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
  });
});

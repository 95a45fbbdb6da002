import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import { startTestBackend, type TestBackend } from '../support/backend.ts';

// The package as a user gets it: `npm pack` (which builds dist/ through prepack), then
// `npm install -g` of the tarball into an empty prefix, from the npm registry, outside this
// checkout, so neither the dev dependencies nor the TypeScript sources are anywhere the installed
// command could reach. Then the installed `ping-agent` answers --help, probes loopback and
// registers against a real gateway.

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const keys = keySchema();

// Probing needs a raw socket (root or CAP_NET_RAW). Locally without it the file skips; in CI the
// install is the point of the test, so a missing permission fails instead of hiding it.
const needs = process.getuid?.() === 0 ? null : 'root (raw ICMP sockets)';
if (needs && process.env.CI === 'true') {
  throw new Error(`the installed-package test needs ${needs}, and in CI it must run, not skip`);
}

let dir: string;
let prefix: string;
let command: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  if (needs) return;
  dir = await mkdtemp(join(tmpdir(), 'ping-agent-package-'));
  prefix = join(dir, 'prefix');
  // The caller's environment (it may carry the CA certificates npm needs to reach the registry)
  // without what `npm test` adds: npm_* variables and node_modules/.bin directories on PATH.
  env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  env.PATH = [
    join(prefix, 'bin'),
    dirname(process.execPath),
    ...(process.env.PATH ?? '').split(':').filter((p) => p && !p.includes('node_modules')),
  ].join(':');
  const packed = await run('npm', ['pack', '--pack-destination', dir, '--json'], {
    cwd: repo,
    env: { ...env, PATH: `${join(repo, 'node_modules/.bin')}:${env.PATH}` },
  });
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      // npm 11 asks for install scripts to be approved; raw-socket's builds the addon.
      '--allow-scripts=raw-socket',
      '--no-audit',
      '--no-fund',
      join(dir, filename),
    ],
    { cwd: dir, env },
  );
  command = join(prefix, 'bin', 'ping-agent');
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(needs !== null)('the packed and globally installed package', () => {
  it('holds the built JavaScript and installs raw-socket as its only dependency', async () => {
    const installed = join(prefix, 'lib/node_modules/ping-agent');
    const deps = (await readdir(join(installed, 'node_modules'))).filter((n) => !n.startsWith('.'));
    // nan is raw-socket's own dependency (the C++ headers it compiles against).
    expect(deps.sort()).toEqual(['nan', 'raw-socket']);
    expect((await readdir(installed)).sort()).toEqual(
      ['README.md', 'deploy', 'dist', 'node_modules', 'package.json'].sort(),
    );
    const entry = await readFile(join(installed, 'dist/ping-agent.js'), 'utf8');
    expect(entry.split('\n', 1)[0]).toMatch(/^#!\/usr\/bin\/env -S node( --[a-z0-9-]+=\d+)*$/);
    expect(entry).not.toMatch(/tsx|\.ts['"]/);
  });

  it('answers --help and --version, and dev points to a checkout', async () => {
    const help = await run(command, ['--help'], { cwd: dir, env });
    expect(help.stdout).toMatch(/^usage: ping-agent <command>/);
    for (const name of ['probe', 'run', 'check', 'gateway']) expect(help.stdout).toContain(`  ${name} `);
    const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
    expect((await run(command, ['--version'], { cwd: dir, env })).stdout).toBe(`${pkg.version}\n`);
    // dev needs a checkout (wrangler, the sources): it says so instead of starting half a stack.
    const dev = await run(command, ['dev'], { cwd: dir, env }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(dev).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ping-agent dev: .*checkout/) });
  });

  it('probes loopback', async () => {
    const { stdout } = await run(command, ['probe', '-c', '1', '127.0.0.1'], { cwd: dir, env });
    expect(stdout).toMatch(/^127\.0\.0\.1 +: xmt\/rcv\/%loss = 1\/1\/0%/);
  });

  it('registers against a real gateway and writes a status', async () => {
    let backend: TestBackend | undefined;
    let agent: ChildProcess | undefined;
    let log = '';
    try {
      backend = await startTestBackend();
      const name = 'installed';
      await backend.redis.sadd(keys.group('loopback'), '127.0.0.1');
      await backend.redis.sadd(keys.groupsList(), 'loopback');
      await backend.redis.set(
        keys.agentJob(name, 'core'),
        JSON.stringify({ SPEC: '*/1 * * * * *', name: 'core', group: ['loopback'], timeout_ms: 400 }),
      );
      await backend.redis.sadd(keys.agentJobs(name), 'core');
      agent = spawn(command, ['run'], {
        cwd: dir,
        env: {
          ...env,
          UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
          UPSTASH_REDIS_REST_TOKEN: backend.token,
          PING_AGENT_NAME: name,
          PING_AGENT_SPOOL_DIR: join(dir, 'spool'),
          PING_AGENT_CONFIG_POLL_MS: '300',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      agent.stdout!.on('data', (d) => {
        log += d;
      });
      agent.stderr!.on('data', (d) => {
        log += d;
      });
      const redis = backend.redis;
      const deadline = Date.now() + 20_000;
      while (!(await redis.get(keys.ipStatus(name, '127.0.0.1')))) {
        if (Date.now() > deadline || agent.exitCode !== null) {
          throw new Error(`no status from the installed agent; its output:\n${log.slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await redis.sismember(keys.agentList(), name)).toBe(1);
      const heartbeat = JSON.parse((await redis.get<string>(keys.agentOnline(name)))!);
      expect(heartbeat).toMatchObject({ pid: agent.pid, jobs: ['core'] });
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (agent && agent.exitCode === null) agent.kill('SIGKILL');
      await backend?.close();
    }
  }, 40_000);
});

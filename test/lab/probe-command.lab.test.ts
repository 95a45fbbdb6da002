import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLab, type Lab } from './lab.ts';
import { describeLab } from './require-lab.ts';

// `ping-agent probe` as users run it: the real bin as a child process, against a lab namespace.

const BIN = fileURLToPath(new URL('../../bin/ping-agent.js', import.meta.url));

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function probe(args: string[], options: { stdin?: string; prefix?: string[] } = {}): Promise<Outcome> {
  const argv = [...(options.prefix ?? []), process.execPath, BIN, 'probe', ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describeLab('ping-agent probe in the lab', () => {
  let lab: Lab;
  let dir: string;

  beforeAll(async () => {
    lab = await createLab({ targets: 3, ipv6: true, targets6: 1 });
    await lab.setLoss(lab.targets[2]!, 100);
    dir = await mkdtemp(join(tmpdir(), 'probe-command-'));
  });
  afterAll(async () => {
    await lab?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints one fping-like line per target and exits 0 when all answer', async () => {
    const out = await probe(['-c', '3', '-p', '20', lab.targets[0]!, lab.targets6[0]!]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(
        `^${lab.targets[0]!.replaceAll('.', '\\.')}\\s+ : xmt/rcv/%loss = 3/3/0%, min/avg/max = [\\d.]+/[\\d.]+/[\\d.]+$`,
      ),
    );
    expect(lines[1]).toContain(`${lab.targets6[0]} : xmt/rcv/%loss = 3/3/0%`);
  });

  it('prints the JSON document and exits 1 when a target does not answer', async () => {
    const out = await probe(['--json', '-c', '2', '-p', '10', '-t', '200', lab.targets[0]!, lab.targets[2]!]);
    expect(out.code).toBe(1);
    const doc = JSON.parse(out.stdout);
    expect(Object.keys(doc).sort()).toEqual(['elapsed_ms', 'targets']);
    expect(doc.elapsed_ms).toBeGreaterThan(0);
    const [ok, lost] = doc.targets;
    expect(Object.keys(ok).sort()).toEqual(
      ['duplicates', 'errors', 'ip', 'late', 'loss', 'received', 'rtt_ms', 'sent', 'ttl'].sort(),
    );
    expect(ok).toMatchObject({
      ip: lab.targets[0],
      sent: 2,
      received: 2,
      loss: 0,
      ttl: 64,
      late: 0,
      duplicates: 0,
    });
    expect(Object.keys(ok.rtt_ms).sort()).toEqual(['avg', 'max', 'mdev', 'min', 'p50', 'p95']);
    expect(ok.errors).toEqual({ unreachable: null, ttl_exceeded: null });
    expect(lost).toMatchObject({
      ip: lab.targets[2],
      sent: 2,
      received: 0,
      loss: 1,
      rtt_ms: null,
      ttl: null,
    });
  });

  it('reads targets from a file and from standard input', async () => {
    const file = join(dir, 'targets.txt');
    await writeFile(file, `# lab targets\n${lab.targets[0]}\n\n${lab.targets[1]}\n`);
    const fromFile = await probe(['--json', '-c', '1', '-f', file]);
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout).targets.map((t: { ip: string }) => t.ip)).toEqual(
      lab.targets.slice(0, 2),
    );
    const fromStdin = await probe(['--json', '-c', '1', '-f', '-'], { stdin: `${lab.targets[1]}\n` });
    expect(fromStdin.code).toBe(0);
    expect(JSON.parse(fromStdin.stdout).targets[0].ip).toBe(lab.targets[1]);
  });

  it('exits 2 with one line naming the problem on bad usage', async () => {
    const cases: [string[], RegExp][] = [
      [[], /no targets/],
      [['-c', 'many', lab.targets[0]!], /-c\/--count must be a whole number/],
      [['-s', '4', lab.targets[0]!], /-s\/--size must be from 16/],
      [['--bogus', lab.targets[0]!], /bogus/],
      [['not_a_host!'], /neither an IP address nor a host name/],
      [['no-such-host.invalid'], /cannot resolve host name "no-such-host.invalid"/],
      [['-f', join(dir, 'missing.txt')], /cannot read targets from/],
    ];
    for (const [args, message] of cases) {
      // In an empty network namespace, so the failing name lookup sends nothing off this host.
      const out = await probe(args, { prefix: ['unshare', '--net'] });
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(out.stderr).toMatch(message);
    }
  });

  it('sets the TTL with --ttl and reports where it ran out', async () => {
    const routed = await createLab({ targets: 1, router: true });
    try {
      const out = await probe(['--ttl', '1', '-c', '2', '-p', '10', routed.targets[0]!]);
      expect(out.code).toBe(1);
      expect(out.stdout).toContain(
        `xmt/rcv/%loss = 2/0/100% [2 TTL exceeded at ${routed.routerAddress!.v4}]`,
      );
      const json = await probe(['--json', '--ttl', '2', '-c', '1', routed.targets[0]!]);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout).targets[0]).toMatchObject({ received: 1, ttl: 63 });
    } finally {
      await routed.close();
    }
  });

  it('prints --help and exits 0', async () => {
    const out = await probe(['--help']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('usage: ping-agent probe');
  });

  it('says how to grant CAP_NET_RAW and exits 2 without it', async () => {
    // Root without CAP_NET_RAW rather than another user: another user may not be able to read
    // the checkout at all (one under /root or a 0700 home), and Node would fail before our check.
    // Out of the bounding and inheritable sets, the capability cannot come back at exec.
    const out = await probe([lab.targets[0]!], {
      prefix: ['setpriv', '--inh-caps=-net_raw', '--bounding-set=-net_raw'],
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/setcap cap_net_raw\+ep/);
    expect(out.stderr).toMatch(/AmbientCapabilities=CAP_NET_RAW/);
  });
});

import { lookup } from 'node:dns/promises';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { formatIp, parseIp } from '../../shared/ip.ts';
import { MAX_PAYLOAD, MIN_PAYLOAD } from '../icmp/engine.ts';
import { RawSocketPermissionError } from '../icmp/errors.ts';
import { probeFigures } from '../icmp/probe-figures.ts';
import { rttStats } from '../icmp/rtt-stats.ts';
import type { TargetResult } from '../icmp/types.ts';
import { intOption, parseCommandArgs } from './args.ts';
import { EXIT, UsageError } from './usage-error.ts';

// `ping-agent probe`: a one-shot fping-like check through the same engine the daemon uses.

const HELP = `usage: ping-agent probe [options] target...

Sends ICMP echo requests to every target and prints one summary line per target.
Targets are IPv4 or IPv6 addresses, or host names (resolved once, before probing).

options:
  -c, --count N       probes per target (default 3)
  -p, --period MS     time between probes to one target (default 1000)
  -t, --timeout MS    how long to wait for each reply (default 1000)
  -r, --rate PPS      most packets sent per second, all targets together (default 10000)
  -s, --size BYTES    ICMP payload size, ${MIN_PAYLOAD}..${MAX_PAYLOAD} (default 56)
      --ttl N         IP TTL / hop limit of the requests (default: the system's)
  -f, --file FILE     read more targets from FILE, one per line ('-' for standard input)
      --json          print one JSON document instead of the summary lines
  -h, --help          show this help

exit status: 0 every target answered at least once, 1 some did not, 2 bad usage or no permission
`;

const options = {
  count: { type: 'string', short: 'c' },
  period: { type: 'string', short: 'p' },
  timeout: { type: 'string', short: 't' },
  rate: { type: 'string', short: 'r' },
  size: { type: 'string', short: 's' },
  ttl: { type: 'string' },
  file: { type: 'string', short: 'f' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function readTargetFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`ping-agent probe: cannot read targets from ${path}: ${(error as Error).message}`);
  }
  return text
    .split('\n')
    .map((line) => (line.includes('#') ? line.replace(/#.*/, '') : line).trim())
    .filter((line) => line !== '');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Addresses stay as they are; a name is looked up once and fails with the name in the message. */
async function resolve(target: string): Promise<string> {
  const parsed = parseIp(target);
  if (parsed) return formatIp(parsed);
  if (!/^[A-Za-z0-9.-]+$/.test(target)) {
    throw new UsageError(`ping-agent probe: "${target}" is neither an IP address nor a host name`);
  }
  try {
    return (await lookup(target)).address;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'lookup failed';
    throw new UsageError(
      `ping-agent probe: cannot resolve host name "${target}" (${code}); give an IP address`,
    );
  }
}

const ms = (x: number) => (x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3));

function summaryLine(label: string, width: number, r: TargetResult): string {
  const loss = r.sent === 0 ? 0 : Math.round((100 * (r.sent - r.received)) / r.sent);
  let line = `${label.padEnd(width)} : xmt/rcv/%loss = ${r.sent}/${r.received}/${loss}%`;
  const stats = rttStats(r.rttsMs);
  if (stats) line += `, min/avg/max = ${ms(stats.min)}/${ms(stats.avg)}/${ms(stats.max)}`;
  const notes: string[] = [];
  if (r.unreachable)
    notes.push(`${r.unreachable.count} unreachable from ${r.unreachable.from} (code ${r.unreachable.code})`);
  if (r.ttlExceeded) notes.push(`${r.ttlExceeded.count} TTL exceeded at ${r.ttlExceeded.from}`);
  if (r.late) notes.push(`${r.late} late`);
  if (r.duplicates) notes.push(`${r.duplicates} duplicates`);
  if (notes.length) line += ` [${notes.join(', ')}]`;
  return line;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('probe', argv, options);
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const count = intOption('probe', '-c/--count', values.count, 3, 1, 1_000_000);
  const periodMs = intOption('probe', '-p/--period', values.period, 1000, 0, 3_600_000);
  const timeoutMs = intOption('probe', '-t/--timeout', values.timeout, 1000, 1, 600_000);
  const ratePps = intOption('probe', '-r/--rate', values.rate, 10_000, 1, 10_000_000);
  const size = intOption('probe', '-s/--size', values.size, 56, MIN_PAYLOAD, MAX_PAYLOAD);
  const ttl = values.ttl === undefined ? undefined : intOption('probe', '--ttl', values.ttl, 64, 1, 255);
  const names = [...positionals, ...(values.file ? await readTargetFile(values.file) : [])];
  if (names.length === 0) {
    throw new UsageError(
      "ping-agent probe: no targets; give addresses or -f FILE (see 'ping-agent probe --help')",
    );
  }
  // Addresses are taken as they are and only names wait for a lookup (together): a pending lookup
  // per target (a promise and an async frame each) cost more memory at 60,000 than probing did.
  const ips = names.map((name) => {
    const parsed = parseIp(name);
    return parsed ? formatIp(parsed) : '';
  });
  await Promise.all(
    names.flatMap((name, i) => (ips[i] === '' ? [resolve(name).then((ip) => (ips[i] = ip))] : [])),
  );

  const { openProbeEngine } = await import('../icmp/engine.ts');
  let engine: Awaited<ReturnType<typeof openProbeEngine>>;
  try {
    engine = await openProbeEngine({ ratePps });
  } catch (error) {
    if (error instanceof RawSocketPermissionError) {
      process.stderr.write(`ping-agent probe: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  const started = performance.now();
  const results = await engine.probe(ips, {
    count,
    periodMs,
    timeoutMs,
    size,
    ...(ttl === undefined ? {} : { ttl }),
  });
  const elapsedMs = performance.now() - started;
  await engine.close();

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ targets: results.map(probeFigures), elapsed_ms: elapsedMs })}\n`,
    );
  } else {
    const labels = results.map((r, i) => (names[i] === r.ip ? r.ip : `${names[i]} (${r.ip})`));
    const width = Math.max(...labels.map((l) => l.length));
    // A thousand lines per write, each waiting for the last to drain: one string of every line
    // held them all and their pieces at once (about 40 MB of heap at 60,000 targets), and a pipe
    // that reads slower than we print would queue them all again.
    let lines: string[] = [];
    for (let i = 0; i < results.length; i++) {
      lines.push(summaryLine(labels[i]!, width, results[i]!));
      if (lines.length === 1000 || i === results.length - 1) {
        if (!process.stdout.write(`${lines.join('\n')}\n`)) await once(process.stdout, 'drain');
        lines = [];
      }
    }
  }
  return results.every((r) => r.received > 0) ? EXIT.ok : EXIT.failed;
}

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, RedisServer } from '../test/support/redis-server.ts';

// `npm run bench:gateway`: the gateway's throughput beside redis-benchmark's for the same
// redis-server, at the same concurrency (50 clients), for single SETs and for 1000-command
// pipelines. The gateway runs as its own process (`ping-agent gateway`), as it does in use; the
// load comes from keep-alive HTTP/1.1 connections driven by a minimal client in this process, so
// the measurement is the gateway's cost, not an HTTP client library's.
//
// Options: --seconds N (each gateway phase, default 5, at most 10); --cpu-prof DIR writes a CPU
// profile of the gateway process to DIR, to see where its time goes.

const CLIENTS = 50;
const PIPELINE = 1000;
const TOKEN = 'bench-token';
const root = resolve(fileURLToPath(import.meta.url), '../..');

const secondsArg = process.argv.indexOf('--seconds');
const profileArg = process.argv.indexOf('--cpu-prof');
const PROFILE_DIR = profileArg > 0 ? process.argv[profileArg + 1] : undefined;
const PHASE_SECONDS = Math.min(
  10,
  Math.max(1, Number(secondsArg > 0 ? process.argv[secondsArg + 1] : 5) || 5),
);

interface Row {
  what: string;
  gateway: number;
  redis: number;
  target: number;
}

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  let gateway: ChildProcess | null = null;
  try {
    process.stdout.write(`redis-server on port ${redis.port}; running redis-benchmark...\n`);
    const redisSingle = await redisBenchmark(redis.port, ['-n', '300000']);
    const redisPipelined = await redisBenchmark(redis.port, ['-n', '5000000', '-P', String(PIPELINE)]);

    const port = await freePort();
    gateway = spawn(
      process.execPath,
      [
        ...(PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []),
        resolve(root, 'bin/ping-agent.js'),
        'gateway',
        '--port',
        String(port),
        '--redis-url',
        redis.url,
      ],
      { env: { ...process.env, UPSTASH_REDIS_REST_TOKEN: TOKEN }, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    await waitForGateway(port);

    process.stdout.write(
      `gateway on port ${port}; ${CLIENTS} HTTP clients, ${PHASE_SECONDS} s per phase...\n`,
    );
    const single = await httpLoad(port, '/', (client) => JSON.stringify(['SET', `key:${client}`, 'xxx']), 1);
    const pipelined = await httpLoad(
      port,
      '/pipeline',
      (client) => JSON.stringify(Array.from({ length: PIPELINE }, () => ['SET', `key:${client}`, 'xxx'])),
      PIPELINE,
    );

    printTable([
      { what: `single SET, ${CLIENTS} clients`, gateway: single, redis: redisSingle, target: 1 / 4 },
      {
        what: `${PIPELINE}-command pipelines, ${CLIENTS} clients`,
        gateway: pipelined,
        redis: redisPipelined,
        target: 1 / 10,
      },
    ]);
  } finally {
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((resolve) => gateway!.once('exit', resolve));
      gateway.kill('SIGTERM');
      await exited;
    }
    await redis.close();
  }
}

/** Runs redis-benchmark's SET test against `port` and returns its requests per second. */
function redisBenchmark(port: number, extra: string[]): Promise<number> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', 'set', '-c', String(CLIENTS), '-q', ...extra];
  return new Promise((resolve, reject) => {
    execFile('redis-benchmark', args, { timeout: 30_000 }, (error, stdout) => {
      if (error) {
        reject(new Error(`redis-benchmark ${args.join(' ')} failed: ${error.message}`));
        return;
      }
      // `-q` prints progress lines ending in \r, then "SET: 71428.57 requests per second, ...".
      const match = /SET: ([0-9.]+) requests per second/.exec(stdout.split('\r').pop() ?? '');
      if (!match) reject(new Error(`could not read redis-benchmark's output: ${stdout.slice(-200)}`));
      else resolve(Number(match[1]));
    });
  });
}

async function waitForGateway(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: '["PING"]',
    }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the gateway did not answer within 20 s');
}

/**
 * Keeps CLIENTS keep-alive connections busy, one request in flight each, for a short warm-up and
 * then PHASE_SECONDS; returns Redis commands per second (requests x commandsPerRequest).
 */
async function httpLoad(
  port: number,
  path: string,
  body: (client: number) => string,
  commandsPerRequest: number,
): Promise<number> {
  const clients = Array.from({ length: CLIENTS }, (_, i) => new LoadClient(port, path, body(i)));
  await Promise.all(clients.map((c) => c.connect()));
  for (const client of clients) client.start();
  await sleep(Math.min(1_000, PHASE_SECONDS * 200));
  const before = clients.reduce((sum, c) => sum + c.completed, 0);
  const started = process.hrtime.bigint();
  await sleep(PHASE_SECONDS * 1_000);
  const after = clients.reduce((sum, c) => sum + c.completed, 0);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await Promise.all(clients.map((c) => c.stop()));
  const failed = clients.find((c) => c.failure);
  if (failed) throw new Error(`a request failed: ${failed.failure}`);
  return ((after - before) * commandsPerRequest) / seconds;
}

/** One HTTP/1.1 keep-alive connection sending the same request over and over. */
class LoadClient {
  completed = 0;
  failure: string | null = null;
  private socket: Socket | null = null;
  private readonly request: Buffer;
  private running = false;
  private stopped: (() => void) | null = null;
  private received: Buffer = Buffer.alloc(0);

  constructor(
    private readonly port: number,
    path: string,
    body: string,
  ) {
    this.request = Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n` +
        `Upstash-Encoding: base64\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: this.port }, () => resolve());
      socket.setNoDelay(true);
      socket.on('error', (error) => {
        this.failure ??= error.message;
        reject(error);
      });
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      this.socket = socket;
    });
  }

  start(): void {
    this.running = true;
    this.socket!.write(this.request);
  }

  stop(): Promise<void> {
    this.running = false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.stopped?.(), 5_000);
      this.stopped = () => {
        clearTimeout(timer);
        this.stopped = null;
        this.socket!.destroy();
        resolve();
      };
      if (this.failure) this.stopped();
    });
  }

  /** Counts a response once its headers and Content-Length bytes of body are in, then sends again. */
  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    const headerEnd = this.received.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    // The gateway always sends Content-Length; reading it by hand keeps this client cheap, so the
    // CPU the two share goes to the gateway rather than to measuring it.
    if (this.received.compare(STATUS_200, 0, STATUS_200.length, 0, STATUS_200.length) !== 0) {
      this.failure ??= this.received.toString('latin1', 0, this.received.indexOf('\r\n'));
    }
    const at = this.received.indexOf(CONTENT_LENGTH);
    if (at < 0 || at > headerEnd) {
      this.failure ??= 'a response without Content-Length';
      this.stopped?.();
      return;
    }
    let length = 0;
    for (let i = at + CONTENT_LENGTH.length; ; i++) {
      const digit = this.received[i]! - 48;
      if (digit < 0 || digit > 9) break;
      length = length * 10 + digit;
    }
    const end = headerEnd + HEADER_END.length + length;
    if (this.received.length < end) return;
    this.received = this.received.subarray(end);
    this.completed++;
    if (this.running && !this.failure) this.socket!.write(this.request);
    else this.stopped?.();
  }
}

const HEADER_END = Buffer.from('\r\n\r\n');
const STATUS_200 = Buffer.from('HTTP/1.1 200 ');
// Node writes header names as the gateway gives them: lower case.
const CONTENT_LENGTH = Buffer.from('content-length: ');

function printTable(rows: Row[]): void {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = [
    '| load | gateway ops/s | redis-benchmark ops/s | ratio | target | result |',
    '|---|---:|---:|---:|---:|---|',
    ...rows.map((r) => {
      const ratio = r.gateway / r.redis;
      return `| ${r.what} | ${fmt(r.gateway)} | ${fmt(r.redis)} | ${ratio.toFixed(3)} | ${r.target.toFixed(3)} | ${ratio >= r.target ? 'pass' : 'miss'} |`;
    }),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

await main();

import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intOption, parseCommandArgs } from './args.ts';
import { scopedAgentToken } from './dev-stack/agent-credential.ts';
import { ChildSet, waitUntil } from './dev-stack/children.ts';
import { DEMO, seedDemo } from './dev-stack/demo-data.ts';
import { findRedisServer, REDIS_INSTALL_HINT } from './dev-stack/redis-binary.ts';
import { SCHEDULED_PATH, startScheduledTicker, type Ticker } from './dev-stack/scheduled-ticker.ts';
import { EXIT } from './usage-error.ts';

// `ping-agent dev`: the whole stack on this machine, for trying ping-agent and developing it:
// redis-server (data under .stack/), the Upstash-REST gateway, the API on `wrangler dev` (the real
// Workers runtime), and an agent probing a demo group. Ctrl-C stops everything.

const HELP = `usage: ping-agent dev [options]

Runs redis-server, the gateway, the API (wrangler dev) and an agent, all on 127.0.0.1.

options:
  --redis-port N     redis-server's port (default 6399)
  --gateway-port N   the Upstash-REST gateway's port (default 8079)
  --api-port N       the API's port (default 8787)
  --data-dir DIR     where redis keeps its data and the agent its spool (default .stack)
  --no-agent         do not start an agent (it needs root or CAP_NET_RAW)
  -h, --help         this text
`;

/** Fixed, loopback-only credentials, printed at start so they can be pasted into curl. */
const DEV_SECRETS = {
  redisToken: 'dev-redis-token',
  redisReadToken: 'dev-redis-read-token',
  apiToken: 'dev-api-token',
  readToken: 'dev-read-token',
  webhookSecret: `whsec_${Buffer.from('ping-agent local webhook secret').toString('base64')}`,
};

const root = resolve(fileURLToPath(import.meta.url), '../../..');

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('dev', argv, {
    'redis-port': { type: 'string' },
    'gateway-port': { type: 'string' },
    'api-port': { type: 'string' },
    'data-dir': { type: 'string' },
    'no-agent': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const redisPort = intOption('dev', '--redis-port', values['redis-port'], 6399, 1, 65535);
  const gatewayPort = intOption('dev', '--gateway-port', values['gateway-port'], 8079, 1, 65535);
  const apiPort = intOption('dev', '--api-port', values['api-port'], 8787, 1, 65535);
  const dataDir = resolve(values['data-dir'] ?? resolve(root, '.stack'));

  const redisServer = findRedisServer();
  if (!redisServer) {
    process.stderr.write(`ping-agent dev: ${REDIS_INSTALL_HINT}\n`);
    return EXIT.failed;
  }
  mkdirSync(resolve(dataDir, 'redis'), { recursive: true });

  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const children = new ChildSet();
  let ticker: Ticker | undefined;
  let failed: (reason: string) => void = () => {};
  const failure = new Promise<string>((resolve) => {
    failed = resolve;
  });
  children.onUnexpectedExit = (child, code) => {
    if (child.name === 'agent') {
      process.stdout.write(
        `agent stopped (exit ${code}); the rest of the stack keeps running. Run as root or grant CAP_NET_RAW to probe.\n`,
      );
      return;
    }
    failed(`${child.name} exited unexpectedly (exit ${code})`);
  };

  const stop = () => failed('stopping');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  try {
    children.start('redis', redisServer, [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      resolve(dataDir, 'redis'),
      '--appendonly',
      'yes',
      '--save',
      '',
    ]);
    const node = process.execPath;
    const cli = resolve(root, 'bin/ping-agent.js');
    children.start('gateway', node, [
      cli,
      'gateway',
      '--port',
      String(gatewayPort),
      '--redis-url',
      `redis://127.0.0.1:${redisPort}`,
      '--token',
      DEV_SECRETS.redisToken,
      '--read-only-token',
      DEV_SECRETS.redisReadToken,
    ]);
    await race(
      failure,
      waitUntil('the gateway', () => redisAnswers(gatewayUrl, DEV_SECRETS.redisToken), 20_000),
    );
    if (await seedDemo(gatewayUrl, DEV_SECRETS.redisToken)) {
      process.stdout.write(
        `dev      | seeded group "${DEMO.group}" (${DEMO.ips.join(', ')}) and job "${DEMO.job}" for agent "${DEMO.agent}"\n`,
      );
    }

    const vars = {
      UPSTASH_REDIS_REST_URL: gatewayUrl,
      UPSTASH_REDIS_REST_TOKEN: DEV_SECRETS.redisToken,
      API_TOKEN: DEV_SECRETS.apiToken,
      READ_TOKEN: DEV_SECRETS.readToken,
      WEBHOOK_SECRET: DEV_SECRETS.webhookSecret,
      // Alert notifiers may point at receivers on this machine (http, loopback).
      ALERT_ALLOW_LOCAL: 'true',
      // The demo's targets are loopback: measuring them is how a new user tries `ping-agent measure`.
      MEASURE_ALLOW_LOOPBACK: 'true',
    };
    children.start(
      'api',
      resolve(root, 'node_modules/.bin/wrangler'),
      [
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(apiPort),
        '--show-interactive-dev-session=false',
        '--test-scheduled',
        ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
      ],
      { WRANGLER_SEND_METRICS: 'false' },
    );
    await race(
      failure,
      waitUntil('the API', () => httpOk(`${apiUrl}/v1/health`), 60_000),
    );
    ticker = startScheduledTicker(apiUrl, (message) => process.stderr.write(`alerts   | ${message}\n`));

    if (!values['no-agent']) {
      // Its own token, reaching only its own keys, as a field agent's should.
      const agentToken = await race(failure, scopedAgentToken(apiUrl, DEV_SECRETS.apiToken, DEMO.agent));
      children.start('agent', node, [cli, 'run'], {
        PING_AGENT_NAME: DEMO.agent,
        UPSTASH_REDIS_REST_URL: gatewayUrl,
        UPSTASH_REDIS_REST_TOKEN: agentToken,
        PING_AGENT_SPOOL_DIR: resolve(dataDir, 'spool'),
      });
    }

    process.stdout.write(banner({ redisPort, gatewayUrl, apiUrl, agent: !values['no-agent'] }));
    const reason = await failure;
    if (reason !== 'stopping') throw new Error(reason);
    process.stdout.write('dev      | stopping the stack\n');
    ticker?.stop();
    await children.stopAll();
    return EXIT.ok;
  } catch (error) {
    process.stderr.write(`ping-agent dev: ${(error as Error).message}; stopping the stack\n`);
    ticker?.stop();
    await children.stopAll();
    return EXIT.failed;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function banner(s: { redisPort: number; gatewayUrl: string; apiUrl: string; agent: boolean }): string {
  return `
ping-agent local stack is up (Ctrl-C stops it)
  redis     redis://127.0.0.1:${s.redisPort}
  gateway   ${s.gatewayUrl}   token ${DEV_SECRETS.redisToken} (read-only ${DEV_SECRETS.redisReadToken})
  API       ${s.apiUrl}   token ${DEV_SECRETS.apiToken} (read-only ${DEV_SECRETS.readToken})
            webhook secret ${DEV_SECRETS.webhookSecret}
  docs      ${s.apiUrl}/docs
  alerts    rules evaluated every minute (${s.apiUrl}${SCHEDULED_PATH}); notifiers may be local http receivers
  agent     ${s.agent ? `"${DEMO.agent}", probing group "${DEMO.group}" every 10 s, with its own Redis token (its keys only)` : 'not started (--no-agent)'}

  try: curl -s -H 'Authorization: Bearer ${DEV_SECRETS.apiToken}' '${s.apiUrl}/v1/check?group=${DEMO.group}'
       npx ping-agent measure --url ${s.apiUrl} --token ${DEV_SECRETS.apiToken} -c 3 --group ${DEMO.group}
`;
}

async function race<T>(failure: Promise<string>, work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    failure.then((reason) => {
      throw new Error(reason);
    }),
  ]);
}

async function redisAnswers(gatewayUrl: string, token: string): Promise<boolean> {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: '["PING"]',
  });
  return response.ok;
}

async function httpOk(url: string): Promise<boolean> {
  return (await fetch(url)).ok;
}

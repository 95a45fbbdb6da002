import {
  GATEWAY_DEFAULTS,
  GATEWAY_ENV,
  GatewayConfigError,
  resolveGatewayConfig,
} from '../../gateway/config.ts';
import { describeTarget, parseRedisUrl } from '../../gateway/redis-url.ts';
import { startGateway } from '../../gateway/start-gateway.ts';
import { parseCommandArgs } from './args.ts';
import { EXIT, UsageError } from './usage-error.ts';

// `ping-agent gateway`: the Upstash REST protocol in front of a plain redis-server, so the API and
// the agents (which speak @upstash/redis) can run on a team's own Redis instead of Upstash.

const HELP = `usage: ping-agent gateway [options]

Serves the Upstash REST API (POST /, /pipeline, /multi-exec, and /subscribe/<channel> as
Server-Sent Events) in front of a redis-server.

options (each also read from the environment variable shown):
  --port N               port to listen on (${GATEWAY_ENV.port}, default ${GATEWAY_DEFAULTS.port})
  --host ADDR            address to listen on (${GATEWAY_ENV.host}, default ${GATEWAY_DEFAULTS.host})
  --redis-url URL        redis://[[user]:password@]host[:port][/db], rediss:// for TLS
                         (${GATEWAY_ENV.redisUrl}, default ${GATEWAY_DEFAULTS.redisUrl})
  --token T              bearer token for reads and writes (${GATEWAY_ENV.token}, required)
  --read-only-token R    bearer token for read commands only (${GATEWAY_ENV.readOnlyToken})
  --allow-commands LIST  comma-separated commands refused by default that the read-write token
                         may run anyway, e.g. eval,evalsha,script (${GATEWAY_ENV.allowCommands});
                         see the gateway's README for the list and what allowing them risks
  -h, --help             this text

Prefer the environment for tokens: command lines are visible to every user of the host.
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('gateway', argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    'redis-url': { type: 'string' },
    token: { type: 'string' },
    'read-only-token': { type: 'string' },
    'allow-commands': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `ping-agent gateway: unexpected "${positionals[0]}" (see 'ping-agent gateway --help')`,
    );
  }
  let config: ReturnType<typeof resolveGatewayConfig>;
  try {
    config = resolveGatewayConfig(values);
  } catch (error) {
    if (error instanceof GatewayConfigError) throw new UsageError(`ping-agent gateway: ${error.message}`);
    throw error;
  }

  const gateway = await startGateway(config);
  const redis = describeTarget(parseRedisUrl(config.redisUrl));
  const readOnly = config.readOnlyToken ? ', read-only token enabled' : '';
  const allowing = config.allowCommands?.length ? `, allowing ${config.allowCommands.join(', ')}` : '';
  process.stdout.write(
    `ping-agent gateway: serving ${gateway.url} in front of ${redis}${readOnly}${allowing}\n`,
  );
  const problem = await gateway.checkRedis();
  if (problem) {
    process.stdout.write(
      `ping-agent gateway: Redis does not answer yet (${problem}); requests get 500 until it does\n`,
    );
  }

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await gateway.close();
  return EXIT.ok;
}

import { allowedCommands } from './command-rules.ts';
import { parseRedisUrl } from './redis-url.ts';
import type { GatewayOptions } from './start-gateway.ts';

// The gateway's settings: each from its flag, else from the environment, else a default. This is
// the only place on the gateway's side that reads the environment.

export const GATEWAY_ENV = {
  port: 'PING_AGENT_GATEWAY_PORT',
  host: 'PING_AGENT_GATEWAY_HOST',
  redisUrl: 'REDIS_URL',
  token: 'UPSTASH_REDIS_REST_TOKEN',
  readOnlyToken: 'UPSTASH_REDIS_REST_READONLY_TOKEN',
  allowCommands: 'PING_AGENT_GATEWAY_ALLOW_COMMANDS',
} as const;

export const GATEWAY_DEFAULTS = { port: 8079, host: '127.0.0.1', redisUrl: 'redis://127.0.0.1:6379' };

/** A setting is missing or malformed; the message names the flag, its variable and the fix. */
export class GatewayConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayConfigError';
  }
}

export interface GatewayFlags {
  port?: string;
  host?: string;
  'redis-url'?: string;
  token?: string;
  'read-only-token'?: string;
  'allow-commands'?: string;
}

export type GatewayConfig = GatewayOptions & { host: string };

export function resolveGatewayConfig(
  flags: GatewayFlags,
  env: NodeJS.ProcessEnv = process.env,
): GatewayConfig {
  const pick = (flag: keyof GatewayFlags, variable: string): string | undefined => {
    const value = flags[flag] ?? env[variable];
    return value === undefined || value === '' ? undefined : value;
  };

  const rawPort = pick('port', GATEWAY_ENV.port);
  let port = GATEWAY_DEFAULTS.port;
  if (rawPort !== undefined) {
    if (!/^[0-9]{1,5}$/.test(rawPort) || Number(rawPort) > 65535) {
      throw new GatewayConfigError(
        `--port (or ${GATEWAY_ENV.port}) must be a port number from 0 to 65535, not "${rawPort}"`,
      );
    }
    port = Number(rawPort);
  }

  const redisUrl = pick('redis-url', GATEWAY_ENV.redisUrl) ?? GATEWAY_DEFAULTS.redisUrl;
  try {
    parseRedisUrl(redisUrl);
  } catch (error) {
    throw new GatewayConfigError(`--redis-url (or ${GATEWAY_ENV.redisUrl}): ${(error as Error).message}`);
  }

  const token = pick('token', GATEWAY_ENV.token);
  if (!token) {
    throw new GatewayConfigError(
      `the gateway needs a token: pass --token T or set ${GATEWAY_ENV.token} (clients send it as "Authorization: Bearer T")`,
    );
  }
  const readOnlyToken = pick('read-only-token', GATEWAY_ENV.readOnlyToken);
  if (readOnlyToken === token) {
    throw new GatewayConfigError(
      `--read-only-token (or ${GATEWAY_ENV.readOnlyToken}) must differ from the read-write token`,
    );
  }

  const config: GatewayConfig = {
    port,
    host: pick('host', GATEWAY_ENV.host) ?? GATEWAY_DEFAULTS.host,
    redisUrl,
    token,
  };
  if (readOnlyToken) config.readOnlyToken = readOnlyToken;
  const allow = pick('allow-commands', GATEWAY_ENV.allowCommands);
  if (allow !== undefined) {
    const names = allow.split(',');
    try {
      allowedCommands(names);
    } catch (error) {
      throw new GatewayConfigError(
        `--allow-commands (or ${GATEWAY_ENV.allowCommands}): ${(error as Error).message}`,
      );
    }
    config.allowCommands = names.map((name) => name.trim()).filter((name) => name !== '');
  }
  return config;
}

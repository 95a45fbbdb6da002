import { describe, expect, it } from 'vitest';
import { GatewayConfigError, resolveGatewayConfig } from './config.ts';
import { parseRedisUrl } from './redis-url.ts';

describe('resolveGatewayConfig', () => {
  it('prefers flags, then the environment, then defaults', () => {
    expect(resolveGatewayConfig({ token: 't' }, {})).toEqual({
      port: 8079,
      host: '127.0.0.1',
      redisUrl: 'redis://127.0.0.1:6379',
      token: 't',
    });
    const env = {
      PING_AGENT_GATEWAY_PORT: '9000',
      REDIS_URL: 'redis://10.0.0.1:6380',
      UPSTASH_REDIS_REST_TOKEN: 'env-token',
      UPSTASH_REDIS_REST_READONLY_TOKEN: 'env-read',
    };
    expect(resolveGatewayConfig({ port: '9100' }, env)).toMatchObject({
      port: 9100,
      redisUrl: 'redis://10.0.0.1:6380',
      token: 'env-token',
      readOnlyToken: 'env-read',
    });
  });

  it('names the flag, its variable and the fix when a setting is wrong', () => {
    expect(() => resolveGatewayConfig({}, {})).toThrow(/--token T or set UPSTASH_REDIS_REST_TOKEN/);
    expect(() => resolveGatewayConfig({ token: 't', port: '80a' }, {})).toThrow(
      /--port \(or PING_AGENT_GATEWAY_PORT\)/,
    );
    expect(() => resolveGatewayConfig({ token: 't', port: '70000' }, {})).toThrow(GatewayConfigError);
    expect(() => resolveGatewayConfig({ token: 't', 'redis-url': 'localhost:6379' }, {})).toThrow(
      /--redis-url/,
    );
    expect(() => resolveGatewayConfig({ token: 't', 'read-only-token': 't' }, {})).toThrow(/must differ/);
    expect(() => resolveGatewayConfig({ token: 't', 'allow-commands': 'eval,blpop' }, {})).toThrow(
      /--allow-commands \(or PING_AGENT_GATEWAY_ALLOW_COMMANDS\): 'blpop' cannot be allowed/,
    );
  });

  it('reads the commands to allow as a comma-separated list', () => {
    expect(
      resolveGatewayConfig({ token: 't' }, { PING_AGENT_GATEWAY_ALLOW_COMMANDS: 'eval, script,' })
        .allowCommands,
    ).toEqual(['eval', 'script']);
  });
});

describe('parseRedisUrl', () => {
  it('reads host, port, credentials, database and TLS', () => {
    expect(parseRedisUrl('redis://127.0.0.1')).toEqual({ host: '127.0.0.1', port: 6379, tls: false, db: 0 });
    expect(parseRedisUrl('rediss://user:p%40ss@cache.example:6380/2')).toEqual({
      host: 'cache.example',
      port: 6380,
      tls: true,
      db: 2,
      username: 'user',
      password: 'p@ss',
    });
    expect(parseRedisUrl('redis://:secret@[fd00::1]:7000')).toMatchObject({
      host: 'fd00::1',
      password: 'secret',
    });
    expect(() => parseRedisUrl('redis://h/db')).toThrow(/database number/);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const base = {
  UPSTASH_REDIS_REST_URL: 'https://redis.example.test',
  UPSTASH_REDIS_REST_TOKEN: 't0k',
  PING_AGENT_NAME: 'edge-1',
};

describe('loadConfig', () => {
  it('fills defaults', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      name: 'edge-1',
      // Offline within a minute of dying, one heartbeat every 30 s; config pushed, polled each minute.
      heartbeatTtlS: 60,
      heartbeatEveryS: 30,
      configPollMs: 60_000,
      statusRefreshS: 300,
      errSpec: '*/5 * * * * *',
      cleanWindowS: 60,
      metricsAddr: null,
      logLevel: 'info',
      keyPrefix: '',
    });
  });

  it.each([
    [{ UPSTASH_REDIS_REST_URL: undefined }, 'UPSTASH_REDIS_REST_URL is not set'],
    [{ UPSTASH_REDIS_REST_TOKEN: '' }, 'UPSTASH_REDIS_REST_TOKEN is not set'],
    [{ UPSTASH_REDIS_REST_URL: 'redis://x' }, 'must start with https://'],
    [{ PING_AGENT_NAME: 'bad_name' }, 'PING_AGENT_NAME is "bad_name"'],
    [
      { PING_AGENT_HEARTBEAT_TTL_S: '1' },
      'PING_AGENT_HEARTBEAT_TTL_S is "1"; set it to a whole number from 3',
    ],
    [{ PING_AGENT_ERR_SPEC: '* * *' }, 'PING_AGENT_ERR_SPEC is not usable'],
    [{ PING_AGENT_METRICS_ADDR: 'nowhere' }, 'PING_AGENT_METRICS_ADDR is "nowhere"'],
    [{ PING_AGENT_LOG_LEVEL: 'loud' }, 'PING_AGENT_LOG_LEVEL is "loud"'],
  ])('names the variable and the fix: %o', (override, message) => {
    expect(() => loadConfig({ ...base, ...override })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...override })).toThrow(message);
  });

  it('reads the metrics address and a hostname-derived name', () => {
    const { PING_AGENT_NAME: _, ...rest } = base;
    const c = loadConfig({ ...rest, PING_AGENT_METRICS_ADDR: '[::1]:9469' });
    expect(c.metricsAddr).toEqual({ host: '::1', port: 9469 });
    expect(c.name).toMatch(/^[A-Za-z0-9][A-Za-z0-9.-]*$/);
  });
});

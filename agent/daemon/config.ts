import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cronSpecProblem } from '../../shared/cron-spec.ts';
import { AGENT_NAME_PATTERN, nameRule, toAgentName } from '../../shared/names.ts';
import { UsageError } from '../cli/usage-error.ts';

// The daemon's configuration: the one module that reads the environment for the agent. Every value
// is checked here, at start, and a bad one stops the agent with a line naming the variable and
// what to put there instead, so a typo in an env file never turns into a half-working agent.

export interface AgentConfig {
  name: string;
  redisUrl: string;
  redisToken: string;
  keyPrefix: string;
  heartbeatTtlS: number;
  errSpec: string;
  cleanWindowS: number;
  ratePps: number;
  spoolDir: string;
  spoolMaxBytes: number;
  metricsAddr: { host: string; port: number } | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  requestTimeoutMs: number;
  configPollMs: number;
  resyncS: number;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export class ConfigError extends UsageError {
  constructor(variable: string, problem: string) {
    super(`ping-agent run: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Env = process.env): AgentConfig {
  const name = agentName(env);
  return {
    name,
    redisUrl: redisUrl(env),
    redisToken: required(
      env,
      'UPSTASH_REDIS_REST_TOKEN',
      'the token of the Upstash REST endpoint or gateway',
    ),
    keyPrefix: keyPrefix(env),
    heartbeatTtlS: int(env, 'PING_AGENT_HEARTBEAT_TTL_S', 30, 3, 3600),
    errSpec: spec(env, 'PING_AGENT_ERR_SPEC', '*/5 * * * * *'),
    cleanWindowS: int(env, 'PING_AGENT_CLEAN_WINDOW_S', 60, 1, 86_400),
    ratePps: int(env, 'PING_AGENT_RATE_PPS', 2_000, 1, 1_000_000),
    spoolDir: text(env, 'PING_AGENT_SPOOL_DIR') ?? join(tmpdir(), `ping-agent-spool-${name}`),
    spoolMaxBytes: int(env, 'PING_AGENT_SPOOL_MAX_MB', 64, 1, 100_000) * 1024 * 1024,
    metricsAddr: metricsAddr(env),
    logLevel: logLevel(env),
    requestTimeoutMs: int(env, 'PING_AGENT_REQUEST_TIMEOUT_MS', 5_000, 100, 120_000),
    configPollMs: int(env, 'PING_AGENT_CONFIG_POLL_MS', 2_000, 100, 60_000),
    resyncS: int(env, 'PING_AGENT_RESYNC_S', 60, 1, 3_600),
  };
}

function text(env: Env, variable: string): string | undefined {
  const value = env[variable]?.trim();
  return value === '' ? undefined : value;
}

function required(env: Env, variable: string, what: string): string {
  const value = text(env, variable);
  if (value === undefined) throw new ConfigError(variable, `is not set; set it to ${what}`);
  return value;
}

function agentName(env: Env): string {
  const raw = text(env, 'PING_AGENT_NAME');
  if (raw === undefined) {
    const fromHost = toAgentName(hostname());
    if (fromHost === '') {
      throw new ConfigError(
        'PING_AGENT_NAME',
        `is not set and the hostname gives no valid name; set it to ${nameRule('agent')}`,
      );
    }
    return fromHost;
  }
  if (!AGENT_NAME_PATTERN.test(raw)) {
    throw new ConfigError('PING_AGENT_NAME', `is "${raw}"; an agent name is ${nameRule('agent')}`);
  }
  return raw;
}

function redisUrl(env: Env): string {
  const raw = required(
    env,
    'UPSTASH_REDIS_REST_URL',
    'the https:// URL of the Upstash REST endpoint or gateway',
  );
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('UPSTASH_REDIS_REST_URL', `is "${raw}", not a URL; set it to https://host[:port]`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(
      'UPSTASH_REDIS_REST_URL',
      `is "${raw}"; it must start with https:// (or http:// for a local gateway)`,
    );
  }
  return raw.replace(/\/+$/, '');
}

function keyPrefix(env: Env): string {
  const raw = env.PING_AGENT_KEY_PREFIX ?? '';
  if (/[\s*?[\]]/.test(raw)) {
    throw new ConfigError(
      'PING_AGENT_KEY_PREFIX',
      `is "${raw}"; use letters, digits and punctuation other than * ? [ ]`,
    );
  }
  return raw;
}

function int(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = text(env, variable);
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(
      variable,
      `is "${raw}"; set it to a whole number from ${min} to ${max} (default ${fallback})`,
    );
  }
  return Number(raw);
}

function spec(env: Env, variable: string, fallback: string): string {
  const raw = text(env, variable);
  if (raw === undefined) return fallback;
  const problem = cronSpecProblem(raw);
  if (problem) throw new ConfigError(variable, `is not usable: ${problem} (default "${fallback}")`);
  return raw;
}

function metricsAddr(env: Env): AgentConfig['metricsAddr'] {
  const raw = text(env, 'PING_AGENT_METRICS_ADDR');
  if (raw === undefined || raw === 'off') return null;
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:]*)):([0-9]{1,5})$/.exec(raw);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new ConfigError(
      'PING_AGENT_METRICS_ADDR',
      `is "${raw}"; set it to host:port (e.g. 127.0.0.1:9469) or leave it unset`,
    );
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

function logLevel(env: Env): AgentConfig['logLevel'] {
  const raw = text(env, 'PING_AGENT_LOG_LEVEL')?.toLowerCase() ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
    throw new ConfigError('PING_AGENT_LOG_LEVEL', `is "${raw}"; set it to one of ${LOG_LEVELS.join(', ')}`);
  }
  return raw as AgentConfig['logLevel'];
}

/** The variables this module reads, for the documentation and `--help`. */
export const CONFIG_VARIABLES = [
  'PING_AGENT_NAME',
  'UPSTASH_REDIS_REST_URL',
  'UPSTASH_REDIS_REST_TOKEN',
  'PING_AGENT_KEY_PREFIX',
  'PING_AGENT_HEARTBEAT_TTL_S',
  'PING_AGENT_ERR_SPEC',
  'PING_AGENT_CLEAN_WINDOW_S',
  'PING_AGENT_RATE_PPS',
  'PING_AGENT_SPOOL_DIR',
  'PING_AGENT_SPOOL_MAX_MB',
  'PING_AGENT_METRICS_ADDR',
  'PING_AGENT_LOG_LEVEL',
  'PING_AGENT_REQUEST_TIMEOUT_MS',
  'PING_AGENT_CONFIG_POLL_MS',
  'PING_AGENT_RESYNC_S',
] as const;

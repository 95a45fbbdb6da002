import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cronSpecProblem } from '../../shared/cron-spec.ts';
import { AGENT_NAME_PATTERN, nameRule, toAgentName } from '../../shared/names.ts';
import { z } from '../../shared/zod.ts';
import { UsageError } from '../cli/usage-error.ts';

// The daemon's configuration: the one module that reads the environment for the agent. Every value
// is checked here, at start, by one zod schema, and a bad one stops the agent with a line naming the variable and
// what to put there instead, so a typo in an env file never turns into a half-working agent.

export interface AgentConfig {
  name: string;
  redisUrl: string;
  redisToken: string;
  keyPrefix: string;
  heartbeatTtlS: number;
  /** Half the TTL: one heartbeat may be lost or late without the agent showing offline. */
  heartbeatEveryS: number;
  /** A status whose verdict figures did not change is written again at least this often. */
  statusRefreshS: number;
  errSpec: string;
  cleanWindowS: number;
  ratePps: number;
  spoolDir: string;
  spoolMaxBytes: number;
  metricsAddr: { host: string; port: number } | null;
  /** Most (group, target) pairs exported as per-target series on /metrics; 0: none (the default). */
  metricsTargets: number;
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

// Each variable's schema turns its raw text into the value the agent uses, or adds one issue whose
// message says what was wrong and what to put instead; the variable's name is the issue's path.
type Ctx = z.RefinementCtx;

const optionalText = z
  .string()
  .optional()
  .transform((value) => {
    const trimmed = value?.trim();
    return trimmed === '' ? undefined : trimmed;
  });

function refuse(ctx: Ctx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER as never;
}

function requiredVar(what: string) {
  return optionalText.transform((raw, ctx) => raw ?? refuse(ctx, `is not set; set it to ${what}`));
}

function intVar(fallback: number, min: number, max: number) {
  return optionalText.transform((raw, ctx) => {
    if (raw === undefined) return fallback;
    if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      return refuse(ctx, `is "${raw}"; set it to a whole number from ${min} to ${max} (default ${fallback})`);
    }
    return Number(raw);
  });
}

const agentNameVar = optionalText.transform((raw, ctx) => {
  if (raw === undefined) {
    const fromHost = toAgentName(hostname());
    return (
      fromHost ||
      refuse(ctx, `is not set and the hostname gives no valid name; set it to ${nameRule('agent')}`)
    );
  }
  return AGENT_NAME_PATTERN.test(raw)
    ? raw
    : refuse(ctx, `is "${raw}"; an agent name is ${nameRule('agent')}`);
});

const redisUrlVar = requiredVar('the https:// URL of the Upstash REST endpoint or gateway').transform(
  (raw, ctx) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return refuse(ctx, `is "${raw}", not a URL; set it to https://host[:port]`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return refuse(ctx, `is "${raw}"; it must start with https:// (or http:// for a local gateway)`);
    }
    return raw.replace(/\/+$/, '');
  },
);

const keyPrefixVar = z
  .string()
  .optional()
  .transform((raw = '', ctx) =>
    /[\s*?[\]]/.test(raw)
      ? refuse(ctx, `is "${raw}"; use letters, digits and punctuation other than * ? [ ]`)
      : raw,
  );

function specVar(fallback: string) {
  return optionalText.transform((raw, ctx) => {
    if (raw === undefined) return fallback;
    const problem = cronSpecProblem(raw);
    return problem ? refuse(ctx, `is not usable: ${problem} (default "${fallback}")`) : raw;
  });
}

const metricsAddrVar = optionalText.transform((raw, ctx): AgentConfig['metricsAddr'] => {
  if (raw === undefined || raw === 'off') return null;
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:]*)):([0-9]{1,5})$/.exec(raw);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    return refuse(ctx, `is "${raw}"; set it to host:port (e.g. 127.0.0.1:9469) or leave it unset`);
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
});

const logLevelVar = optionalText.transform((value, ctx) => {
  const raw = value?.toLowerCase() ?? 'info';
  return (LOG_LEVELS as readonly string[]).includes(raw)
    ? (raw as AgentConfig['logLevel'])
    : refuse(ctx, `is "${raw}"; set it to one of ${LOG_LEVELS.join(', ')}`);
});

const envSchema = z.object({
  PING_AGENT_NAME: agentNameVar,
  UPSTASH_REDIS_REST_URL: redisUrlVar,
  UPSTASH_REDIS_REST_TOKEN: requiredVar('the token of the Upstash REST endpoint or gateway'),
  PING_AGENT_KEY_PREFIX: keyPrefixVar,
  PING_AGENT_HEARTBEAT_TTL_S: intVar(60, 3, 3600),
  PING_AGENT_ERR_SPEC: specVar('*/5 * * * * *'),
  PING_AGENT_CLEAN_WINDOW_S: intVar(60, 1, 86_400),
  PING_AGENT_RATE_PPS: intVar(2_000, 1, 1_000_000),
  PING_AGENT_SPOOL_DIR: optionalText,
  PING_AGENT_SPOOL_MAX_MB: intVar(64, 1, 100_000),
  PING_AGENT_METRICS_ADDR: metricsAddrVar,
  PING_AGENT_METRICS_TARGETS: intVar(0, 0, 100_000),
  PING_AGENT_LOG_LEVEL: logLevelVar,
  PING_AGENT_REQUEST_TIMEOUT_MS: intVar(5_000, 100, 120_000),
  PING_AGENT_CONFIG_POLL_MS: intVar(60_000, 100, 3_600_000),
  PING_AGENT_RESYNC_S: intVar(600, 1, 86_400),
  PING_AGENT_STATUS_REFRESH_S: intVar(300, 1, 3_600),
});

export function loadConfig(env: Env = process.env): AgentConfig {
  // Only our variables are picked out, so the rest of the environment is never validated or kept.
  const picked = Object.fromEntries(CONFIG_VARIABLES.map((name) => [name, env[name]]));
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new ConfigError(String(issue?.path[0] ?? 'the environment'), issue?.message ?? 'is invalid');
  }
  const e = parsed.data;
  return {
    name: e.PING_AGENT_NAME,
    redisUrl: e.UPSTASH_REDIS_REST_URL,
    redisToken: e.UPSTASH_REDIS_REST_TOKEN,
    keyPrefix: e.PING_AGENT_KEY_PREFIX,
    heartbeatTtlS: e.PING_AGENT_HEARTBEAT_TTL_S,
    heartbeatEveryS: e.PING_AGENT_HEARTBEAT_TTL_S / 2,
    statusRefreshS: e.PING_AGENT_STATUS_REFRESH_S,
    errSpec: e.PING_AGENT_ERR_SPEC,
    cleanWindowS: e.PING_AGENT_CLEAN_WINDOW_S,
    ratePps: e.PING_AGENT_RATE_PPS,
    spoolDir: e.PING_AGENT_SPOOL_DIR ?? join(tmpdir(), `ping-agent-spool-${e.PING_AGENT_NAME}`),
    spoolMaxBytes: e.PING_AGENT_SPOOL_MAX_MB * 1024 * 1024,
    metricsAddr: e.PING_AGENT_METRICS_ADDR,
    metricsTargets: e.PING_AGENT_METRICS_TARGETS,
    logLevel: e.PING_AGENT_LOG_LEVEL,
    requestTimeoutMs: e.PING_AGENT_REQUEST_TIMEOUT_MS,
    configPollMs: e.PING_AGENT_CONFIG_POLL_MS,
    resyncS: e.PING_AGENT_RESYNC_S,
  };
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
  'PING_AGENT_METRICS_TARGETS',
  'PING_AGENT_LOG_LEVEL',
  'PING_AGENT_REQUEST_TIMEOUT_MS',
  'PING_AGENT_CONFIG_POLL_MS',
  'PING_AGENT_RESYNC_S',
  'PING_AGENT_STATUS_REFRESH_S',
] as const;

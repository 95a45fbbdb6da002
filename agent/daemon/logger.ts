// Structured JSON logs on stdout: one line per job run, never per packet. Anything that could hold
// the Redis token is redacted by name at any depth, so a logged config or error object never
// leaks it. Lines keep pino's shape (numeric `level`, ISO `time`, fields, `msg`), which log
// pipelines already parse; the agent writes them itself because a logging library cost some 3 MB
// of its memory for a dozen calls.

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

type LogCall = {
  (fields: Record<string, unknown>, msg?: string): void;
  (msg: string): void;
};

export interface Logger {
  fatal: LogCall;
  error: LogCall;
  warn: LogCall;
  info: LogCall;
  debug: LogCall;
  trace: LogCall;
}

/** pino's numbers, so `level >= 40` still means "warnings and worse". */
const LEVELS: Record<Exclude<LogLevel, 'silent'>, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

const SECRET_FIELDS = new Set(['token', 'redisToken', 'authorization']);
const CENSORED = '[redacted]';

function redact(key: string, value: unknown): unknown {
  return SECRET_FIELDS.has(key) && value !== undefined ? CENSORED : value;
}

/** Lines go to `destination` (stdout by default; on Linux a write to a pipe or file is synchronous). */
export function createLogger(agent: string, level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  const out = destination ?? process.stdout;
  // A log reader that went away (a closed pipe: EPIPE) must not take the probing down with it:
  // the lines are lost, the results still go to Redis.
  out.on('error', () => {});
  const threshold = level === 'silent' ? Number.POSITIVE_INFINITY : LEVELS[level];
  const at = (name: Exclude<LogLevel, 'silent'>): LogCall => {
    const value = LEVELS[name];
    if (value < threshold) return () => {};
    return (first: Record<string, unknown> | string, msg?: string) => {
      const fields = typeof first === 'string' ? undefined : first;
      const text = typeof first === 'string' ? first : msg;
      const head = { level: value, time: new Date().toISOString(), agent };
      let line: string;
      try {
        line = JSON.stringify({ ...head, ...fields, msg: text }, redact);
      } catch (error) {
        // A field JSON cannot hold (a cycle, a BigInt): the message still goes out, and says so.
        line = JSON.stringify({ ...head, msg: text, log_error: (error as Error).message });
      }
      out.write(`${line}\n`);
    };
  };
  return {
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
  };
}

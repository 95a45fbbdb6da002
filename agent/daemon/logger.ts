import { type Logger, pino } from 'pino';

// Structured JSON logs on stdout: one line per job run, never per packet. Anything that could hold
// the Redis token is redacted by path, so a logged config or error object never leaks it.

export type { Logger };

export function createLogger(agent: string, level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { agent },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'token',
        'redisToken',
        '*.token',
        '*.redisToken',
        'authorization',
        '*.authorization',
        'headers.authorization',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './usage-error.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util's parseArgs with its errors turned into one-line usage errors that name the command,
 * so `ping-agent probe -c` says what is wrong instead of printing a stack trace.
 */
export function parseCommandArgs<T extends Options>(command: string, argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, '');
    throw new UsageError(`ping-agent ${command}: ${message} (see 'ping-agent ${command} --help')`);
  }
}

/** Reads an integer option within bounds, naming the flag and the allowed range when it is not. */
export function intOption(
  command: string,
  flag: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  if (!/^-?[0-9]+$/.test(raw.trim())) {
    throw new UsageError(
      `ping-agent ${command}: ${flag} must be a whole number from ${min} to ${max}, not "${raw}"`,
    );
  }
  const value = Number(raw);
  if (value < min || value > max) {
    throw new UsageError(`ping-agent ${command}: ${flag} must be from ${min} to ${max}, not ${value}`);
  }
  return value;
}

/** Reads a decimal option from 0 to `max` (a loss ratio, an RTT limit); undefined when not given. */
export function decimalOption(
  command: string,
  flag: string,
  raw: string | undefined,
  max: number,
): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(raw) || Number(raw) > max) {
    throw new UsageError(`ping-agent ${command}: ${flag} must be a number from 0 to ${max}, not "${raw}"`);
  }
  return Number(raw);
}

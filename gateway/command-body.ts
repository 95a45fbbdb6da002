import type { Argument } from './resp-encoder.ts';

// The shapes of request bodies: `POST /` takes one command (`["SET", "k", "v"]`), `/pipeline` and
// `/multi-exec` take an array of them. Anything else is the caller's mistake, answered with 400
// and a message saying which command and argument is wrong.

export type Command = Argument[];

export class BadRequestError extends Error {
  constructor(message: string) {
    super(`ERR ${message}`);
    this.name = 'BadRequestError';
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`the request body is not JSON (${(error as Error).message})`);
  }
}

/** Checks one command; `where` names it in messages ("the command", "command 3"). */
export function asCommand(value: unknown, where: string): Command {
  if (!Array.isArray(value)) {
    throw new BadRequestError(`${where} must be a JSON array such as ["SET", "key", "value"]`);
  }
  if (value.length === 0) throw new BadRequestError(`${where} is empty; it needs at least a command name`);
  for (let i = 0; i < value.length; i++) {
    const arg = value[i];
    const type = typeof arg;
    if (type !== 'string' && type !== 'number' && type !== 'boolean') {
      const found = arg === null ? 'null' : Array.isArray(arg) ? 'an array' : `a ${type}`;
      throw new BadRequestError(
        `argument ${i + 1} of ${where} is ${found}; arguments must be strings, numbers or booleans`,
      );
    }
  }
  return value as Command;
}

/** The body of /pipeline or /multi-exec: a non-empty array of commands. */
export function asCommandList(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new BadRequestError(
      `${what} takes a JSON array of commands such as [["SET", "k", "v"], ["GET", "k"]]`,
    );
  }
  if (value.length === 0) throw new BadRequestError(`${what} got an empty array of commands`);
  return value;
}

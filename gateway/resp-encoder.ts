// Commands to RESP2 request text. A whole HTTP request's commands become one string, written to
// the socket in one go, so a 1000-command pipeline costs one write rather than a thousand.

/** One argument as it arrives in the JSON body: Upstash accepts numbers and booleans as strings. */
export type Argument = string | number | boolean;

/** Appends one command (`*n` then `$len` per argument) to `out` and returns the result. */
export function appendCommand(out: string, command: readonly Argument[]): string {
  out += `*${command.length}\r\n`;
  for (const arg of command) {
    const text = typeof arg === 'string' ? arg : String(arg);
    out += `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
  }
  return out;
}

export function encodeCommands(commands: readonly (readonly Argument[])[]): string {
  let out = '';
  for (const command of commands) out = appendCommand(out, command);
  return out;
}

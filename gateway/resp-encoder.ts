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

/**
 * One command whose arguments may be raw bytes (the path form's percent-encoded segments and
 * POSTed body), which a JavaScript string would not carry intact.
 */
export function encodeCommandBytes(command: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${command.length}\r\n`)];
  for (const arg of command) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

const CRLF = Buffer.from('\r\n');

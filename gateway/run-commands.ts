import type { Role } from './auth.ts';
import { asCommand, type Command } from './command-body.ts';
import { type CommandWord, refusalFor } from './command-rules.ts';
import { type RepliesCallback, RepliesTooLargeError } from './redis-connection.ts';
import type { RedisPool } from './redis-pool.ts';
import { errorJson, replyToJson, resultOrError } from './reply-json.ts';
import { appendCommand, encodeCommandBytes } from './resp-encoder.ts';
import { RedisErrorReply, type Reply, type StringEncoding } from './resp-parser.ts';

// The three ways a request runs commands, each answering with an HTTP status and a JSON body in
// the Upstash REST shapes: one command (`{"result"}`, or 400 `{"error"}` with Redis's message), a
// pipeline (one `{"result"}`/`{"error"}` per command, in order, not atomic) and a transaction
// (the same array, all or nothing, on a connection of its own).

export interface Answer {
  status: number;
  body: string;
}

export type Answered = (answer: Answer) => void;

/** What every command of one request runs with. */
export interface RunContext {
  pool: RedisPool;
  role: Role;
  encoding: StringEncoding;
  /** Refused commands the operator allowed for the read-write token (command-rules.ts). */
  allowed: ReadonlySet<string>;
  /** What the replies to one request may come to, in bytes as Redis sends them. */
  maxReplyBytes: number;
}

const MULTI = appendCommand('', ['MULTI']);
const EXEC = appendCommand('', ['EXEC']);

export function runSingle(context: RunContext, body: unknown, answer: Answered): void {
  const command = asCommand(body, 'the command');
  runOne(context, command, appendCommand('', command), answer);
}

/** One command of the path form, whose arguments are bytes as they came (segments, body). */
export function runPathCommand(context: RunContext, args: readonly Buffer[], answer: Answered): void {
  runOne(context, args, encodeCommandBytes(args), answer);
}

function runOne(
  context: RunContext,
  command: readonly CommandWord[],
  payload: string | Buffer,
  answer: Answered,
): void {
  const { pool, encoding } = context;
  const refusal = refusalIn(context, command);
  if (refusal) {
    answer({ status: refusal.status, body: errorJson(refusal.message) });
    return;
  }
  pool.pick().send(
    payload,
    1,
    encoding,
    guarded(answer, (replies) => {
      const reply = replies[0]!;
      if (reply instanceof RedisErrorReply) answer({ status: 400, body: errorJson(reply.message) });
      else answer({ status: 200, body: `{"result":${replyToJson(reply, encoding)}}` });
    }),
    context.maxReplyBytes,
  );
}

export function runPipeline(context: RunContext, list: unknown[], answer: Answered): void {
  const { pool, encoding } = context;
  // Refused commands answer for themselves, in place; the rest go to Redis in one write.
  const refused: (string | null)[] = new Array(list.length).fill(null);
  let payload = '';
  let sent = 0;
  for (let i = 0; i < list.length; i++) {
    const command = asCommand(list[i], `command ${i + 1}`);
    const refusal = refusalIn(context, command);
    if (refusal) {
      refused[i] = errorJson(refusal.message);
    } else {
      payload = appendCommand(payload, command);
      sent++;
    }
  }
  const finish = (replies: Reply[]) => {
    let out = '[';
    let next = 0;
    for (let i = 0; i < list.length; i++) {
      if (i > 0) out += ',';
      out += refused[i] ?? resultOrError(replies[next++]!, encoding);
    }
    answer({ status: 200, body: `${out}]` });
  };
  if (sent === 0) {
    finish([]);
    return;
  }
  pool.pick().send(payload, sent, encoding, guarded(answer, finish), context.maxReplyBytes);
}

/** Too much asked for is the caller's to fix (400); Redis out of reach is not (500). */
function statusOf(error: Error): number {
  return error instanceof RepliesTooLargeError ? 400 : 500;
}

function refusalIn(context: RunContext, command: readonly CommandWord[]) {
  return refusalFor(command, context.role === 'read-only', context.allowed);
}

/**
 * The callback a connection calls with replies: Redis being unreachable becomes 500, and so does
 * a bug while building the answer, which would otherwise leave the request hanging and break the
 * connection's reply stream for every other request on it.
 */
function guarded(answer: Answered, use: (replies: Reply[]) => void): RepliesCallback {
  return (error, replies) => {
    if (error) {
      answer({ status: statusOf(error), body: errorJson(error.message) });
      return;
    }
    try {
      use(replies);
    } catch (failure) {
      answer({ status: 500, body: errorJson(`ERR the gateway failed: ${(failure as Error).message}`) });
    }
  };
}

export async function runMultiExec(context: RunContext, list: unknown[]): Promise<Answer> {
  const { pool, encoding } = context;
  // Nothing runs unless everything may run: a refusal refuses the whole transaction.
  const commands: Command[] = [];
  for (let i = 0; i < list.length; i++) {
    const command = asCommand(list[i], `command ${i + 1}`);
    const refusal = refusalIn(context, command);
    if (refusal) {
      return { status: refusal.status, body: errorJson(`${refusal.message} (command ${i + 1})`) };
    }
    commands.push(command);
  }
  let payload = MULTI;
  for (const command of commands) payload = appendCommand(payload, command);
  payload += EXEC;

  const replies = await pool.withDedicated(
    (connection) =>
      new Promise<Reply[] | Error>((resolve) => {
        connection.send(
          payload,
          commands.length + 2,
          encoding,
          (error, replies) => resolve(error ?? replies),
          context.maxReplyBytes,
        );
      }),
  );
  if (replies instanceof Error) return { status: statusOf(replies), body: errorJson(replies.message) };

  const exec = replies[replies.length - 1]!;
  if (exec instanceof RedisErrorReply) {
    // EXECABORT: a command was refused while queueing and nothing ran. Name the first culprit.
    const index = replies.findIndex((r, i) => i > 0 && r instanceof RedisErrorReply);
    const cause = replies[index];
    const detail =
      cause instanceof RedisErrorReply && cause !== exec ? ` (command ${index}: ${cause.message})` : '';
    return { status: 400, body: errorJson(`${exec.message}${detail}`) };
  }
  if (!Array.isArray(exec)) {
    return { status: 500, body: errorJson('EXEC did not answer with an array; the transaction did not run') };
  }
  let out = '[';
  for (let i = 0; i < exec.length; i++) {
    if (i > 0) out += ',';
    out += resultOrError(exec[i]!, encoding);
  }
  return { status: 200, body: `${out}]` };
}

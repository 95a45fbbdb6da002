import type { ServerResponse } from 'node:http';
import { BigIntegerReply, RedisErrorReply, type Reply, type StringEncoding } from './resp-parser.ts';

// Replies to the JSON the Upstash REST API answers with. The parser already decoded every string
// in the request's encoding; base64 text never needs JSON escaping, so it is quoted directly
// instead of going through JSON.stringify.

/** One reply as a JSON value: strings, integers as numbers, nil as null, arrays nested. */
export function replyToJson(reply: Reply, encoding: StringEncoding): string {
  if (typeof reply === 'string') return encoding === 'base64' ? `"${reply}"` : JSON.stringify(reply);
  if (typeof reply === 'number') return String(reply);
  if (reply === null) return 'null';
  if (reply instanceof BigIntegerReply) return reply.digits;
  if (reply instanceof RedisErrorReply) {
    // An error inside an array (a script can return one) travels as its text.
    return encoding === 'base64' ? `"${reply.encoded}"` : JSON.stringify(reply.message);
  }
  let out = '[';
  for (let i = 0; i < reply.length; i++) {
    if (i > 0) out += ',';
    out += replyToJson(reply[i]!, encoding);
  }
  return `${out}]`;
}

/** `{"result": ...}` or `{"error": "..."}`: one pipeline item, or the body for a single command. */
export function resultOrError(reply: Reply, encoding: StringEncoding): string {
  if (reply instanceof RedisErrorReply) return errorJson(reply.message);
  return `{"result":${replyToJson(reply, encoding)}}`;
}

export function errorJson(message: string): string {
  return `{"error":${JSON.stringify(message)}}`;
}

/** Answers `res` with a JSON body, unless an answer has already started. */
export function sendJson(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

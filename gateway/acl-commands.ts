import type { Command } from './command-body.ts';
import type { RedisPool } from './redis-pool.ts';
import { errorJson, resultOrError } from './reply-json.ts';
import { RedisErrorReply, type StringEncoding } from './resp-parser.ts';
import type { Answer } from './run-commands.ts';
import {
  acceptsPassword,
  makeUserToken,
  readUserRecord,
  type TokenUsers,
  userOfToken,
} from './token-users.ts';

// ACL commands from the admin (read-write) token, answered the way Upstash answers them, so the
// API manages agent credentials the same way against either:
//
//   ACL GENTOKEN user [password]  a token for the user, to set as its password with SETUSER >token
//   ACL RESTTOKEN user password   the REST token of a user, given its password
//   ACL SETUSER / DELUSER         passed to Redis; the user's open sessions end at once
//
// As on Upstash, `nopass` is refused and the `default` user (and the gateway's own login) cannot
// be changed: either would hand every token, or none, the keys to the database. The other ACL
// subcommands (GETUSER, USERS, LIST, WHOAMI, CAT, LOG, ...) pass through unchanged.

export function isAclCommand(body: unknown): body is Command {
  return Array.isArray(body) && typeof body[0] === 'string' && body[0].toLowerCase() === 'acl';
}

export async function runAclCommand(
  command: Command,
  pool: RedisPool,
  users: TokenUsers,
  encoding: StringEncoding,
): Promise<Answer> {
  const args = command.map(String);
  const sub = (args[1] ?? '').toLowerCase();
  const refuse = (message: string): Answer => ({ status: 400, body: errorJson(`ERR ${message}`) });

  if (sub === 'gentoken') {
    if (args.length < 3 || args.length > 4)
      return refuse('ACL GENTOKEN takes a username and, optionally, a password');
    try {
      return result(makeUserToken(args[2]!, args[3]), encoding);
    } catch (error) {
      return { status: 400, body: errorJson((error as Error).message) };
    }
  }
  if (sub === 'resttoken') {
    if (args.length !== 4) return refuse('ACL RESTTOKEN takes a username and its password');
    const [, , user, password] = args as [string, string, string, string];
    // A reserved user is refused alike, without asking Redis.
    const reply = users.isReserved(user) ? null : await pool.command(['ACL', 'GETUSER', user]);
    if (reply instanceof RedisErrorReply) return { status: 400, body: errorJson(reply.message) };
    if (reply === null || !acceptsPassword(readUserRecord(reply), password)) {
      return refuse('no such user, or the password does not match');
    }
    // Every password this gateway accepts for REST is a token from GENTOKEN, as on Upstash.
    if (userOfToken(password) !== user) {
      return refuse(
        'that password was not made by ACL GENTOKEN for this user; set one that was with ACL SETUSER',
      );
    }
    return result(password, encoding);
  }
  if (sub === 'setuser' || sub === 'deluser') {
    const targets = sub === 'setuser' ? args.slice(2, 3) : args.slice(2);
    const reserved = targets.find((user) => users.isReserved(user));
    if (reserved !== undefined)
      return refuse(`the user "${reserved}" is the gateway's own and cannot be changed over REST`);
    if (sub === 'setuser' && args.slice(3).some((rule) => rule.toLowerCase() === 'nopass')) {
      return refuse('nopass is refused: every user needs a password, made with ACL GENTOKEN');
    }
    const reply = await pool.command(args, encoding);
    // Before answering, so the caller's next request already sees the change.
    for (const user of targets) users.forget(user);
    return answerOf(reply, encoding);
  }
  return answerOf(await pool.command(args, encoding), encoding);
}

// Answered in the request's encoding like every other reply: the client decodes what it asked
// to be base64, and would mangle plain text.
function result(text: string, encoding: StringEncoding): Answer {
  return {
    status: 200,
    body: resultOrError(encoding === 'base64' ? Buffer.from(text).toString('base64') : text, encoding),
  };
}

function answerOf(reply: Parameters<typeof resultOrError>[0], encoding: StringEncoding): Answer {
  if (reply instanceof RedisErrorReply) return { status: 400, body: errorJson(reply.message) };
  return { status: 200, body: resultOrError(reply, encoding) };
}

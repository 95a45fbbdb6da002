import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAclCommand, runAclCommand } from './acl-commands.ts';
import { presentedToken, type Role, TokenChecker } from './auth.ts';
import { asCommandList, BadRequestError, parseJson } from './command-body.ts';
import { allowedCommands } from './command-rules.ts';
import { RedisPool } from './redis-pool.ts';
import { parseRedisUrl } from './redis-url.ts';
import { errorJson, sendJson } from './reply-json.ts';
import { RedisErrorReply, type StringEncoding } from './resp-parser.ts';
import {
  type Answer,
  type RunContext,
  runMultiExec,
  runPathCommand,
  runPipeline,
  runSingle,
} from './run-commands.ts';
import { DEFAULT_SUBSCRIPTION_LIMITS, Subscriptions } from './sse-subscriptions.ts';
import { TokenUsers, type UserSession } from './token-users.ts';

// The gateway's HTTP side: node:http rather than a framework, because every request is the same
// small job (authenticate, read a JSON body, run it, answer in one write) and the framework's
// routing would cost more than the work.

export interface GatewayOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://...` for TLS. */
  redisUrl: string;
  /** The read-write bearer token. */
  token: string;
  /** A token that may run read commands only. */
  readOnlyToken?: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Request bodies above this get 413. Upstash's own limit is 1 MB by default. */
  maxBodyBytes?: number;
  /**
   * The replies to one request may come to this many bytes (as Redis sends them, default 64 MB);
   * past it the request gets 400 and what was read of them is dropped.
   */
  maxReplyBytes?: number;
  /** Shared pipelined connections to Redis. */
  redisConnections?: number;
  /** Silence from Redis, with answers owed, after which requests get 500 (default 30 s). */
  replyTimeoutMs?: number;
  /**
   * Commands refused by default that the read-write token may run anyway, by the names in
   * command-rules.ts (`flushdb`, `eval`, ...). Unknown names, and those that would break the shared
   * connections, make startGateway throw.
   */
  allowCommands?: readonly string[];
  /** Server-Sent-Event subscriptions one token may hold open at once (default 256). */
  maxSubscriptionsPerToken?: number;
  /** How often a subscription's stream gets a keep-alive line and its Redis a PING (default 15 s). */
  subscriptionKeepaliveMs?: number;
}

export interface Gateway {
  url: string;
  port: number;
  /** PINGs Redis through the gateway's own pool: null when it answers, else what went wrong. */
  checkRedis(): Promise<string | null>;
  close(): Promise<void>;
}

const NOTHING_ALLOWED: ReadonlySet<string> = new Set();
const DEFAULT_MAX_BODY = 1024 * 1024;
const DEFAULT_MAX_REPLY = 64 * 1024 * 1024;
/** Past this a too-large body is cut off rather than read to the end to answer 413 politely. */
const DISCARD_LIMIT = 16 * 1024 * 1024;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const target = parseRedisUrl(options.redisUrl);
  if (!options.token) throw new Error('the gateway needs a token');
  const tokens = new TokenChecker(options.token, options.readOnlyToken);
  const allowed = allowedCommands(options.allowCommands ?? []);
  const pool = new RedisPool(target, {
    sharedConnections: options.redisConnections ?? 2,
    maxDedicated: 16,
    connectTimeoutMs: 5_000,
    replyTimeoutMs: options.replyTimeoutMs ?? 30_000,
  });
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY;
  const subscriptions = new Subscriptions(target, {
    ...DEFAULT_SUBSCRIPTION_LIMITS,
    maxPerToken: options.maxSubscriptionsPerToken ?? DEFAULT_SUBSCRIPTION_LIMITS.maxPerToken,
    keepaliveMs: options.subscriptionKeepaliveMs ?? DEFAULT_SUBSCRIPTION_LIMITS.keepaliveMs,
  });
  // Tokens of Redis ACL users (token-users.ts): their requests run on connections logged in as them.
  const users = new TokenUsers(target, pool, {
    onForget: (user) =>
      subscriptions.closeUser(
        user,
        "the user's passwords or rules changed; subscribe again with a current token",
      ),
    connectTimeoutMs: 5_000,
    replyTimeoutMs: options.replyTimeoutMs ?? 30_000,
  });

  const server = createServer((req, res) => handle(req, res));
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const rawUrl = req.url ?? '/';
    const query = rawUrl.indexOf('?');
    const path = query < 0 ? rawUrl : rawUrl.slice(0, query);
    const params = new URLSearchParams(query < 0 ? '' : rawUrl.slice(query + 1));
    const presented = presentedToken(req.headers.authorization, params.get('_token'));
    const role = tokens.check(presented);
    if (role) {
      serve(req, res, path, params, role, undefined);
      return;
    }
    if (presented === null) {
      unauthorized(req, res);
      return;
    }
    // A user token acts with the user's own rights, which Redis enforces; it administers nothing.
    users.resolve(presented).then(
      (session) => {
        if (session) serve(req, res, path, params, 'read-write', session);
        else unauthorized(req, res);
      },
      (error) => {
        req.resume();
        failed(res, error);
      },
    );
  }

  function unauthorized(req: IncomingMessage, res: ServerResponse): void {
    send(res, {
      status: 401,
      body: errorJson('Unauthorized: send the token as "Authorization: Bearer <token>"'),
    });
    req.resume();
  }

  /** An authenticated request; `session` is set for a Redis ACL user's token. */
  function serve(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    params: URLSearchParams,
    role: Role,
    session: UserSession | undefined,
  ): void {
    const format = headerText(req, 'upstash-response-format');
    if (format !== undefined && format.toLowerCase() !== 'json') {
      send(res, {
        status: 400,
        body: errorJson(`ERR Upstash-Response-Format "${format}" is not supported; use json`),
      });
      req.resume();
      return;
    }
    const encodingHeader = headerText(req, 'upstash-encoding');
    const encoding: StringEncoding =
      encodingHeader !== undefined && encodingHeader.toLowerCase() === 'base64' ? 'base64' : 'utf8';

    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > DISCARD_LIMIT) {
      tooLarge(res, true);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBody) chunks.push(chunk);
      else if (size > DISCARD_LIMIT) tooLarge(res, true);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      if (size > maxBody) {
        tooLarge(res, false);
        return;
      }
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      route({ method: req.method ?? 'GET', path, params, body }, role, encoding, res, session);
    });
  }

  function tooLarge(res: ServerResponse, cutOff: boolean): void {
    if (res.headersSent) return;
    const limit = `${Math.round(maxBody / 1024)} KB`;
    send(res, {
      status: 413,
      body: errorJson(`ERR the request body is larger than the gateway's ${limit} limit`),
    });
    if (cutOff) res.socket?.destroySoon();
  }

  function route(
    request: Request,
    role: Role,
    encoding: StringEncoding,
    res: ServerResponse,
    session: UserSession | undefined,
  ): void {
    const { method, path, body } = request;
    const answer = (a: Answer) => send(res, a);
    const context: RunContext = session
      ? { pool: session.pool, role, encoding, allowed: NOTHING_ALLOWED, maxReplyBytes }
      : { pool, role, encoding, allowed, maxReplyBytes };
    try {
      if (path === '/' || path === '') {
        if (method !== 'POST') {
          res.setHeader('allow', 'POST');
          answer({ status: 405, body: errorJson('ERR POST a JSON command array such as ["PING"] to /') });
          return;
        }
        const command = parseJson(body.toString());
        if (isAclCommand(command) && role === 'read-write' && !session) {
          runAclCommand(command, pool, users, encoding).then(answer, (error) => failed(res, error));
          return;
        }
        runSingle(context, command, answer);
      } else if (path === '/pipeline' || path === '/multi-exec') {
        if (method !== 'POST') {
          res.setHeader('allow', 'POST');
          answer({ status: 405, body: errorJson(`ERR POST a JSON array of commands to ${path}`) });
          return;
        }
        const list = asCommandList(parseJson(body.toString()), path);
        if (path === '/pipeline') runPipeline(context, list, answer);
        else runMultiExec(context, list).then(answer, (error) => failed(res, error));
      } else {
        const words = pathWords(path);
        const name = words[0]!.toString().toLowerCase();
        // The client POSTs "[]" to these; the channels are in the path alone.
        if (name === 'subscribe' || name === 'psubscribe') {
          subscribe(method, name, words.slice(1).map(String), role, res, session);
          return;
        }
        if (!PATH_FORM_METHODS.includes(method)) {
          res.setHeader('allow', PATH_FORM_METHODS.join(', '));
          answer({
            status: 405,
            body: errorJson(
              `ERR the path form runs commands for ${PATH_FORM_METHODS.join(', ')}, not ${method}`,
            ),
          });
          return;
        }
        runPathCommand(context, pathCommand(request, words), answer);
      }
    } catch (error) {
      failed(res, error);
    }
  }

  /** `/subscribe/<channel>...` and `/psubscribe/<pattern>...`: a Server-Sent-Event stream. */
  function subscribe(
    method: string,
    kind: 'subscribe' | 'psubscribe',
    channels: string[],
    role: Role,
    res: ServerResponse,
    session: UserSession | undefined,
  ): void {
    if (method !== 'GET' && method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      send(res, { status: 405, body: errorJson(`ERR /${kind}/<channel> takes GET or POST`) });
      return;
    }
    if (channels.length === 0) {
      send(res, { status: 400, body: errorJson(`ERR name a channel to ${kind} to: /${kind}/<channel>`) });
      return;
    }
    if (session) subscriptions.serve(res, `user:${session.user}`, kind, channels, session.target);
    else subscriptions.serve(res, role, kind, channels);
  }

  function failed(res: ServerResponse, error: unknown): void {
    if (error instanceof BadRequestError) send(res, { status: 400, body: errorJson(error.message) });
    else send(res, { status: 500, body: errorJson(`ERR the gateway failed: ${(error as Error).message}`) });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    checkRedis: () =>
      pool.command(['PING']).then(
        (reply) => (reply instanceof RedisErrorReply ? reply.message : null),
        (error: Error) => error.message,
      ),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      subscriptions.closeAll('the gateway is shutting down');
      server.closeAllConnections();
      pool.close();
      users.close();
      await closed;
    },
  };
}

interface Request {
  method: string;
  path: string;
  params: URLSearchParams;
  body: Buffer;
}

/** Upstash allows these for the path form; any other method is 405. */
const PATH_FORM_METHODS = ['HEAD', 'GET', 'POST', 'PUT'];

/**
 * Upstash's path form: `GET /set/key/value`, one argument per segment, then the body of a POST or
 * PUT as the next argument, then the query's options (`POST /set/key?EX=100` is
 * `SET key <body> EX 100`). Every argument stays bytes, so a binary value or a percent-encoded
 * byte that is not UTF-8 reaches Redis as sent.
 */
function pathCommand(request: Request, words: Buffer[]): Buffer[] {
  const { method, params, body } = request;
  const command = [...words];
  if ((method === 'POST' || method === 'PUT') && body.length > 0) command.push(body);
  for (const [key, value] of params) {
    if (key === '_token') continue;
    command.push(Buffer.from(key));
    if (value !== '') command.push(Buffer.from(value));
  }
  return command;
}

/** The path's segments, percent-decoded to bytes. */
function pathWords(path: string): Buffer[] {
  const words: Buffer[] = [];
  for (const part of path.split('/')) {
    if (part === '') continue;
    const bytes = percentDecode(part);
    if (!bytes) throw new BadRequestError(`the path "${path}" is not validly percent-encoded`);
    words.push(bytes);
  }
  return words;
}

function percentDecode(text: string): Buffer | null {
  if (!text.includes('%')) return Buffer.from(text, 'latin1');
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0x25 /* % */) {
      out.push(code & 0xff);
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
    out.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(out);
}

function headerText(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(res: ServerResponse, answer: Answer): void {
  sendJson(res, answer.status, answer.body);
}

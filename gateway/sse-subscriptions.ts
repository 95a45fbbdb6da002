import type { ServerResponse } from 'node:http';
import type { Role } from './auth.ts';
import { RedisSubscription, type SubscribeKind } from './redis-subscription.ts';
import type { RedisTarget } from './redis-url.ts';
import { errorJson, sendJson } from './reply-json.ts';

// Upstash's pub/sub over HTTP, as @upstash/redis's subscribe() and psubscribe() call it:
// `POST /subscribe/<channel>` (or `/psubscribe/<pattern>`) answered with a Server-Sent Events
// stream, one `data: <kind>,<channel>,<payload>` line per Redis push, in Redis's own words:
//
//   data: subscribe,config,1
//   data: message,config,{"version":7}
//   data: pmessage,conf*,config,{"version":7}
//
// The response starts only once Redis has confirmed the subscription, so an unreachable Redis is
// an ordinary JSON error the client reports to its 'error' listeners. When the stream ends from
// this side (Redis lost, restarted or silent, a consumer too slow, the gateway stopping) it sends
// `unsubscribe,<channel>,0` first: the client hands that to its 'unsubscribe' listeners, which is
// the only sign of the end a subscriber using the client can see, and its cue to subscribe again.

export interface SubscriptionLimits {
  /** Streams one token may hold open at once; past it a new one gets 429. */
  maxPerToken: number;
  /** How often the stream gets a comment line and Redis a PING; one unanswered by the next ends it. */
  keepaliveMs: number;
  /** Unsent bytes a stream may pile up behind a consumer that does not read before it is ended. */
  maxBufferedBytes: number;
  connectTimeoutMs: number;
}

export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = {
  maxPerToken: 256,
  keepaliveMs: 15_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  connectTimeoutMs: 5_000,
};

interface Stream {
  end(reason: string): void;
}

export class Subscriptions {
  /** Open streams per token: its role, or `user:<name>` for a Redis ACL user's token. */
  private readonly open = new Map<Role | `user:${string}`, Set<Stream>>();

  constructor(
    private readonly target: RedisTarget,
    private readonly limits: SubscriptionLimits,
  ) {}

  /**
   * Answers `res` with a stream of `channels`' messages until either side ends it. `target`: how
   * to reach Redis for this stream (a user token's own login); the gateway's by default.
   */
  serve(
    res: ServerResponse,
    role: Role | `user:${string}`,
    kind: SubscribeKind,
    channels: string[],
    target: RedisTarget = this.target,
  ): void {
    let streams = this.open.get(role);
    if (!streams) {
      streams = new Set();
      this.open.set(role, streams);
    }
    if (streams.size >= this.limits.maxPerToken) {
      sendJson(
        res,
        429,
        errorJson(
          `ERR this token already holds ${streams.size} subscriptions, the gateway's limit; end one before opening another`,
        ),
      );
      return;
    }
    const owned = streams;
    let started = false;
    let finished = false;
    const early: string[] = [];
    let keepalive: NodeJS.Timeout | undefined;

    const stream: Stream = {
      end: (reason) => {
        if (finished) return;
        finish();
        subscription.close();
        if (!started) {
          sendJson(res, 500, errorJson(`ERR ${reason}`));
          return;
        }
        const unsubscribe = kind === 'subscribe' ? 'unsubscribe' : 'punsubscribe';
        let goodbye = `: ${oneLine(reason)}\n\n`;
        for (const channel of channels) goodbye += event([unsubscribe, channel, '0']);
        res.end(goodbye);
      },
    };
    const finish = () => {
      finished = true;
      clearInterval(keepalive);
      owned.delete(stream);
      // The token's last stream gone: its entry goes too, or every token that ever subscribed
      // would keep one.
      if (owned.size === 0 && this.open.get(role) === owned) this.open.delete(role);
    };
    const write = (text: string) => {
      if (!started) {
        early.push(text);
        return;
      }
      res.write(text);
      if (res.writableLength > this.limits.maxBufferedBytes) {
        stream.end('the subscriber reads too slowly; the gateway dropped the stream rather than buffer more');
      }
    };

    const subscription = new RedisSubscription(
      target,
      kind,
      channels,
      {
        ready: () => {
          if (finished) return;
          started = true;
          res.writeHead(200, {
            'content-type': 'text/event-stream',
            'cache-control': 'no-cache',
            connection: 'keep-alive',
            'x-accel-buffering': 'no',
          });
          res.write(early.join(''));
          early.length = 0;
          keepalive = setInterval(() => {
            if (subscription.ping()) write(': keepalive\n\n');
          }, this.limits.keepaliveMs);
        },
        push: (words) => write(event(words)),
        ended: (reason) => stream.end(reason),
      },
      this.limits.connectTimeoutMs,
    );
    owned.add(stream);
    // The consumer went away: free the Redis connection at once.
    res.on('close', () => {
      if (finished) return;
      finish();
      subscription.close();
    });
  }

  /**
   * Ends the streams of one ACL user's tokens: Redis keeps a subscribed connection open when the
   * user's passwords change, so a rotated or revoked token would otherwise go on receiving.
   */
  closeUser(user: string, reason: string): void {
    for (const stream of [...(this.open.get(`user:${user}`) ?? [])]) stream.end(reason);
  }

  /** Ends every stream, telling each consumer so. */
  closeAll(reason: string): void {
    for (const streams of this.open.values()) {
      for (const stream of [...streams]) stream.end(reason);
    }
  }
}

/**
 * One SSE event. A payload holding line breaks continues on further `data:` lines, as SSE
 * defines; those lines never start with `data: ` followed by a known event type, so the
 * @upstash/redis client, which reads each `data: ` line as a whole event, cannot be fed a forged
 * one by a message that contains a line break.
 */
function event(words: string[]): string {
  const lines = words.join(',').split(/\r\n|\r|\n/);
  let out = `data: ${lines[0]}\n`;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    out += line.startsWith(' ') ? `data: ${line}\n` : `data:${line}\n`;
  }
  return `${out}\n`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

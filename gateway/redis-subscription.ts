import type { Socket } from 'node:net';
import { dialRedis, loginCommands, readyEvent } from './redis-socket.ts';
import { describeTarget, type RedisTarget } from './redis-url.ts';
import { encodeCommands } from './resp-encoder.ts';
import { RedisErrorReply, type Reply, RespParser } from './resp-parser.ts';

// One Redis connection in subscriber mode, for one SSE stream. A subscribed connection receives
// pushes at any time instead of one reply per request, so it cannot share the pipelined
// connections' FIFO: each stream gets its own, and ending the stream closes it.

const PING = encodeCommands([['PING']]);

export type SubscribeKind = 'subscribe' | 'psubscribe';

export interface SubscriptionHandlers {
  /** Redis confirmed every channel or pattern: the stream may start. */
  ready(): void;
  /** A push: `subscribe, channel, count`, `message, channel, payload`, `pmessage, pattern, channel, payload`. */
  push(words: string[]): void;
  /** The connection ended (Redis went away, refused, or stopped answering); called at most once. */
  ended(reason: string): void;
}

export class RedisSubscription {
  private readonly socket: Socket;
  private loginRepliesOwed: number;
  private confirmationsOwed: number;
  private pingsOwed = 0;
  private done = false;

  constructor(
    private readonly target: RedisTarget,
    kind: SubscribeKind,
    channels: readonly string[],
    private readonly handlers: SubscriptionHandlers,
    connectTimeoutMs: number,
  ) {
    // Pub/sub channels are global to the server, so the database need not be selected.
    const login = loginCommands(target, false);
    this.loginRepliesOwed = login.length;
    this.confirmationsOwed = channels.length;
    const parser = new RespParser(
      (reply) => this.receive(reply),
      () => 'utf8',
    );
    const socket = dialRedis(target);
    this.socket = socket;
    socket.setTimeout(connectTimeoutMs, () =>
      this.end(`cannot reach Redis at ${describeTarget(target)} within ${connectTimeoutMs} ms`),
    );
    socket.once(readyEvent(target), () => socket.setTimeout(0));
    socket.on('data', (chunk: Buffer) => {
      try {
        parser.feed(chunk);
      } catch (error) {
        this.end((error as Error).message);
      }
    });
    let lastError = '';
    socket.on('error', (error) => {
      lastError = ` (${error.message})`;
    });
    socket.on('close', () =>
      this.end(`lost the connection to Redis at ${describeTarget(target)}${lastError}`),
    );
    socket.write(encodeCommands([...login, [kind.toUpperCase(), ...channels]]));
  }

  /**
   * Checks that Redis still answers: false when the previous check got no answer, in which case
   * the subscription has ended. A silent Redis would otherwise leave the stream open for ever.
   */
  ping(): boolean {
    if (this.done) return false;
    if (this.pingsOwed > 0) {
      this.end(`Redis at ${describeTarget(this.target)} stopped answering`);
      return false;
    }
    this.pingsOwed++;
    this.socket.write(PING);
    return true;
  }

  /** Closes the connection without calling `ended`: the stream is going away on its own. */
  close(): void {
    this.done = true;
    this.socket.destroy();
  }

  private receive(reply: Reply): void {
    if (this.done) return;
    if (this.loginRepliesOwed > 0) {
      this.loginRepliesOwed--;
      if (reply instanceof RedisErrorReply) this.end(`Redis refused the gateway's login: ${reply.message}`);
      return;
    }
    if (reply instanceof RedisErrorReply) {
      this.end(`Redis refused the subscription: ${reply.message}`);
      return;
    }
    if (!Array.isArray(reply) || reply.length < 2) {
      this.end('Redis sent a subscriber connection something that is not a push');
      return;
    }
    const words = reply.map((word) => (typeof word === 'string' ? word : String(word)));
    if (words[0] === 'pong') {
      this.pingsOwed = 0;
      return;
    }
    this.handlers.push(words);
    if (this.confirmationsOwed > 0 && (words[0] === 'subscribe' || words[0] === 'psubscribe')) {
      if (--this.confirmationsOwed === 0) this.handlers.ready();
    }
  }

  private end(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    this.handlers.ended(reason);
  }
}

import type { Socket } from 'node:net';
import { dialRedis, loginCommands, readyEvent } from './redis-socket.ts';
import { describeTarget, type RedisTarget } from './redis-url.ts';
import { encodeCommands } from './resp-encoder.ts';
import {
  RedisErrorReply,
  type Reply,
  type ReplyBudget,
  RespParser,
  type StringEncoding,
} from './resp-parser.ts';

// One pipelined connection to Redis. Requests are written back to back without waiting for
// answers, and Redis answers in the same order, so a FIFO of callbacks pairs each batch of
// replies with the request that sent it. Writes made in the same turn of the event loop go out
// as one socket write. A lost connection fails what was in flight and the next request dials
// again, which is how the gateway recovers when Redis comes back.

/** Redis could not be reached, or the connection broke before it answered: HTTP 500. */
export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

/** The replies to one request came to more than it may take: HTTP 400, nothing of them kept. */
export class RepliesTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(
      `ERR the replies to this request come to more than the gateway's ${Math.round(limit / (1024 * 1024))} MB limit; ask for less in one request (fewer keys, a smaller range)`,
    );
    this.name = 'RepliesTooLargeError';
  }
}

export type RepliesCallback = (
  error: RedisUnavailableError | RepliesTooLargeError | null,
  replies: Reply[],
) => void;

interface Pending {
  count: number;
  received: number;
  encoding: StringEncoding;
  budget: ReplyBudget | null;
  limit: number;
  replies: Reply[];
  done: RepliesCallback;
}

export interface ConnectionOptions {
  connectTimeoutMs: number;
  /**
   * How long Redis may stay silent while answers are owed before the connection is given up
   * (every request on it gets 500). Keeps a hung Redis from holding requests forever.
   */
  replyTimeoutMs: number;
}

export class RedisConnection {
  private socket: Socket | null = null;
  private readonly queue: Pending[] = [];
  private head = 0;
  /** Requests to write on the next flush: RESP text, with bytes that are not text as Buffers. */
  private outgoing: (string | Buffer)[] = [];
  private flushScheduled = false;
  private closed = false;
  private lastError: Error | null = null;
  private readonly parser: RespParser;

  constructor(
    private readonly target: RedisTarget,
    private readonly options: ConnectionOptions,
  ) {
    this.parser = new RespParser(
      (reply) => this.deliver(reply),
      () => this.queue[this.head]?.encoding ?? 'utf8',
      () => this.queue[this.head]?.budget ?? null,
    );
  }

  /** Requests sent (or about to be) whose replies have not all arrived. */
  get inFlight(): number {
    return this.queue.length - this.head;
  }

  /**
   * Sends `payload` (RESP text holding `count` commands); `done` gets their `count` replies, or
   * RepliesTooLargeError once they come to more than `maxReplyBytes` (0: no limit) as Redis sends
   * them. That is checked as they arrive, so a request for gigabytes never holds more than that.
   */
  send(
    payload: string | Buffer,
    count: number,
    encoding: StringEncoding,
    done: RepliesCallback,
    maxReplyBytes = 0,
  ): void {
    if (this.closed) {
      done(new RedisUnavailableError('the gateway is shutting down'), []);
      return;
    }
    if (!this.socket) this.open();
    const budget = maxReplyBytes > 0 ? { left: maxReplyBytes, exceeded: false } : null;
    this.queue.push({ count, received: 0, encoding, budget, limit: maxReplyBytes, replies: [], done });
    const last = this.outgoing.length - 1;
    if (typeof payload === 'string' && typeof this.outgoing[last] === 'string')
      this.outgoing[last] += payload;
    else this.outgoing.push(payload);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.failAll(new RedisUnavailableError('the gateway is shutting down'));
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.outgoing.length === 0 || !this.socket) return;
    if (this.outgoing.length === 1) this.socket.write(this.outgoing[0]!);
    else {
      // One write to the kernel however many parts there are.
      this.socket.cork();
      for (const part of this.outgoing) this.socket.write(part);
      this.socket.uncork();
    }
    this.outgoing = [];
  };

  private open(): void {
    const socket = dialRedis(this.target);
    this.socket = socket;
    this.lastError = null;
    const { connectTimeoutMs, replyTimeoutMs } = this.options;
    const connectTimedOut = () => socket.destroy(new Error(`no connection within ${connectTimeoutMs} ms`));
    socket.setTimeout(connectTimeoutMs);
    socket.once('timeout', connectTimedOut);
    let connected = false;
    socket.once(readyEvent(this.target), () => {
      connected = true;
      // From now on the timeout means silence: harmless when idle, fatal when answers are owed.
      socket.off('timeout', connectTimedOut);
      socket.setTimeout(replyTimeoutMs);
      socket.on('timeout', () => {
        if (this.socket === socket && this.inFlight > 0) {
          socket.destroy(new Error(`no reply within ${replyTimeoutMs} ms`));
        }
      });
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.parser.feed(chunk);
      } catch (error) {
        socket.destroy(error as Error);
        return;
      }
      this.cutOffIfTooLarge(socket);
    });
    socket.on('error', (error) => {
      this.lastError = error;
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.parser.reset();
      const where = describeTarget(this.target);
      const why = this.lastError ? ` (${this.lastError.message})` : '';
      this.failAll(
        new RedisUnavailableError(
          connected
            ? `lost the connection to Redis at ${where}${why} before it answered; the next request reconnects`
            : `cannot reach Redis at ${where}${why}; the next request tries again`,
        ),
      );
    });
    this.login();
  }

  /** AUTH and SELECT go first on every new connection; their replies never reach a client. */
  private login(): void {
    const commands = loginCommands(this.target);
    if (commands.length === 0) return;
    const socket = this.socket!;
    this.queue.splice(this.head, 0, {
      count: commands.length,
      received: 0,
      encoding: 'utf8',
      budget: null,
      limit: 0,
      replies: [],
      done: (error, replies) => {
        const refused = replies.find((r) => r instanceof RedisErrorReply);
        if (!error && refused instanceof RedisErrorReply) {
          this.abandon(socket, `Redis refused the gateway's login: ${refused.message}`);
        }
      },
    });
    this.outgoing.unshift(encodeCommands(commands));
  }

  /**
   * A request past its reply limit that is alone on the connection is answered at once and the
   * connection dropped, so Redis stops sending the rest (gigabytes, for a pipeline of GETs of a
   * large value). With other requests behind it, the rest is skipped as it arrives instead.
   */
  private cutOffIfTooLarge(socket: Socket): void {
    const pending = this.queue[this.head];
    if (!pending?.budget?.exceeded || this.inFlight !== 1 || this.socket !== socket) return;
    this.socket = null;
    this.parser.reset();
    socket.destroy();
    this.queue.length = 0;
    this.head = 0;
    pending.done(new RepliesTooLargeError(pending.limit), []);
  }

  /**
   * Drops `socket` at once, failing everything sent on it: the replies already in the same chunk
   * (NOAUTH after a failed AUTH, say) must not reach the requests that are waiting.
   */
  private abandon(socket: Socket, message: string): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.parser.reset();
    socket.destroy();
    this.failAll(new RedisUnavailableError(message));
  }

  private deliver(reply: Reply): void {
    const pending = this.queue[this.head];
    if (!pending) throw new Error('Redis sent a reply nobody asked for');
    pending.received++;
    if (pending.budget?.exceeded) pending.replies.length = 0;
    else pending.replies.push(reply);
    if (pending.received < pending.count) return;
    this.queue[this.head++] = undefined as unknown as Pending;
    // Reclaim the consumed front: for free whenever the queue runs dry, else now and then.
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (pending.budget?.exceeded) pending.done(new RepliesTooLargeError(pending.limit), []);
    else pending.done(null, pending.replies);
  }

  private failAll(error: RedisUnavailableError): void {
    const pending = this.queue.splice(this.head);
    this.queue.length = 0;
    this.head = 0;
    this.outgoing = [];
    for (const p of pending) p.done(error, []);
  }
}

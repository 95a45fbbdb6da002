import type { Socket } from 'node:net';
import { dialRedis, loginCommands, readyEvent } from './redis-socket.ts';
import { describeTarget, type RedisTarget } from './redis-url.ts';
import { encodeCommands } from './resp-encoder.ts';
import { RedisErrorReply, type Reply, RespParser, type StringEncoding } from './resp-parser.ts';

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

export type RepliesCallback = (error: RedisUnavailableError | null, replies: Reply[]) => void;

interface Pending {
  count: number;
  encoding: StringEncoding;
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
  private outgoing = '';
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
    );
  }

  /** Requests sent (or about to be) whose replies have not all arrived. */
  get inFlight(): number {
    return this.queue.length - this.head;
  }

  /** Sends `payload` (RESP text holding `count` commands); `done` gets their `count` replies. */
  send(payload: string, count: number, encoding: StringEncoding, done: RepliesCallback): void {
    if (this.closed) {
      done(new RedisUnavailableError('the gateway is shutting down'), []);
      return;
    }
    if (!this.socket) this.open();
    this.queue.push({ count, encoding, replies: [], done });
    this.outgoing += payload;
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
    if (this.outgoing === '' || !this.socket) return;
    this.socket.write(this.outgoing);
    this.outgoing = '';
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
      }
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
      encoding: 'utf8',
      replies: [],
      done: (error, replies) => {
        const refused = replies.find((r) => r instanceof RedisErrorReply);
        if (!error && refused instanceof RedisErrorReply) {
          this.abandon(socket, `Redis refused the gateway's login: ${refused.message}`);
        }
      },
    });
    this.outgoing = encodeCommands(commands) + this.outgoing;
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
    pending.replies.push(reply);
    if (pending.replies.length < pending.count) return;
    this.queue[this.head++] = undefined as unknown as Pending;
    // Reclaim the consumed front: for free whenever the queue runs dry, else now and then.
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    pending.done(null, pending.replies);
  }

  private failAll(error: RedisUnavailableError): void {
    const pending = this.queue.splice(this.head);
    this.queue.length = 0;
    this.head = 0;
    this.outgoing = '';
    for (const p of pending) p.done(error, []);
  }
}

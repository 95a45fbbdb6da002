import { type ConnectionOptions, RedisConnection } from './redis-connection.ts';
import type { RedisTarget } from './redis-url.ts';
import { appendCommand } from './resp-encoder.ts';
import type { Reply, StringEncoding } from './resp-parser.ts';

// A few shared, pipelined connections carry single commands and pipelines; transactions get a
// connection of their own for their whole MULTI..EXEC, so nothing else ever runs on a connection
// while it is inside a transaction. A handful of shared connections is enough: each carries many
// requests at once, and more would only split Redis's batches into smaller ones.

export interface PoolOptions extends ConnectionOptions {
  sharedConnections: number;
  /** How many transactions may hold a dedicated connection at once; the rest wait their turn. */
  maxDedicated: number;
}

export class RedisPool {
  private readonly shared: RedisConnection[];
  private nextShared = 0;
  private readonly idle: RedisConnection[] = [];
  private dedicatedInUse = 0;
  private readonly waiting: ((connection: RedisConnection) => void)[] = [];
  private closed = false;

  constructor(
    private readonly target: RedisTarget,
    private readonly options: PoolOptions,
  ) {
    this.shared = Array.from(
      { length: options.sharedConnections },
      () => new RedisConnection(target, options),
    );
  }

  /** A shared connection, taking turns so concurrent requests spread over all of them. */
  pick(): RedisConnection {
    const connection = this.shared[this.nextShared]!;
    this.nextShared = (this.nextShared + 1) % this.shared.length;
    return connection;
  }

  /** Runs one command on a shared connection: the gateway's own small jobs (ACL, PING). */
  command(command: readonly string[], encoding: StringEncoding = 'utf8'): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.pick().send(appendCommand('', command), 1, encoding, (error, replies) => {
        if (error) reject(error);
        else resolve(replies[0]!);
      });
    });
  }

  /** Runs `work` with a connection nobody else uses until `work` settles. */
  async withDedicated<T>(work: (connection: RedisConnection) => Promise<T>): Promise<T> {
    const connection = await this.acquire();
    try {
      return await work(connection);
    } finally {
      this.release(connection);
    }
  }

  close(): void {
    this.closed = true;
    for (const connection of [...this.shared, ...this.idle]) connection.close();
    this.idle.length = 0;
    // Whoever still waits gets a closed connection, which fails their request at once.
    for (const resolve of this.waiting.splice(0)) {
      const connection = new RedisConnection(this.target, this.options);
      connection.close();
      resolve(connection);
    }
  }

  private acquire(): Promise<RedisConnection> {
    const idle = this.idle.pop();
    if (idle) {
      this.dedicatedInUse++;
      return Promise.resolve(idle);
    }
    if (this.dedicatedInUse < this.options.maxDedicated) {
      this.dedicatedInUse++;
      return Promise.resolve(new RedisConnection(this.target, this.options));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(connection: RedisConnection): void {
    if (this.closed) {
      connection.close();
      return;
    }
    const next = this.waiting.shift();
    if (next) {
      next(connection);
      return;
    }
    this.dedicatedInUse--;
    this.idle.push(connection);
  }
}

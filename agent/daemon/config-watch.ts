import type { Redis } from '@upstash/redis';
import type { Store } from '../../shared/store.ts';
import { Backoff } from './backoff.ts';
import type { Logger } from './logger.ts';

// How the agent learns that groups or jobs changed. The API publishes on `config-changed` with
// every change; the agent listens with SUBSCRIBE over Server-Sent Events (one long request, which
// Upstash and our gateway serve) and re-reads its jobs within a second. Pub/sub keeps nothing for
// a listener that is away, and a stream cut mid-way may end without a word, so a slow poll of
// `config-version` (a minute by default) is the safety net, and a full re-read every
// `resyncMs` catches hand edits that bumped nothing.

export interface ConfigWatchOptions {
  redis: Pick<Redis, 'subscribe'>;
  store: Store;
  log: Logger;
  pollMs: number;
  resyncMs: number;
  /**
   * Sees every message first; true when it was not a config change (a measurement, issue 13)
   * and so needs no re-read.
   */
  onMessage?: (message: unknown) => boolean;
  /**
   * Called each time a subscription is confirmed (the first and every one after a cut): what was
   * published while nobody listened is gone, so whoever needs it reads it back here.
   */
  onSubscribed?: () => void;
  /** Re-reads jobs and groups; throws when Redis did not answer. */
  apply: (reason: string) => Promise<void>;
}

type Subscription = ReturnType<Redis['subscribe']>;

export class ConfigWatch {
  private known = Number.NaN;
  private lastSync = 0;
  private running: Promise<void> | null = null;
  private again: string | null = null;
  private subscription: Subscription | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly backoff = new Backoff({ baseMs: 1_000, capMs: 30_000 });
  private stopped = false;

  constructor(private readonly o: ConfigWatchOptions) {}

  /** The first read (awaited), then the subscription and the slow poll. */
  async start(): Promise<void> {
    await this.sync('start');
    this.subscribe();
    this.timers.push(setInterval(() => void this.poll(), this.o.pollMs));
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    void this.subscription?.unsubscribe().catch(() => {});
    this.subscription = null;
  }

  /** Re-reads now; a change arriving meanwhile re-reads once more after, so none is missed. */
  sync(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = reason;
      return this.running;
    }
    this.running = (async () => {
      try {
        const version = await this.o.store.configVersion.get();
        await this.o.apply(reason);
        this.known = version;
        this.lastSync = Date.now();
      } catch (error) {
        this.o.log.warn({ err: (error as Error).message }, 'cannot read jobs; keeping the current schedules');
      } finally {
        this.running = null;
        const next = this.again;
        this.again = null;
        if (next) void this.sync(next);
      }
    })();
    return this.running;
  }

  private async poll(): Promise<void> {
    if (Date.now() - this.lastSync >= this.o.resyncMs) return this.sync('periodic');
    try {
      const version = await this.o.store.configVersion.get();
      if (version === this.known) return;
      // A change the subscription did not bring: the stream may be gone without a word.
      if (this.subscription) this.o.log.warn('config change seen by polling, not pushed; listening again');
      this.resubscribe(0);
      await this.sync('config-version');
    } catch {
      // Redis is away; the writer logs outages, and the next poll tries again.
    }
  }

  private subscribe(): void {
    if (this.stopped) return;
    const sub = this.o.store.keys.configChannel();
    const subscription = this.o.redis.subscribe<string>(sub);
    this.subscription = subscription;
    subscription.on('subscribe', () => {
      this.backoff.reset();
      // Messages sent while nobody listened are gone: look once at the version.
      void this.o.store.configVersion
        .get()
        .then((version) => (version !== this.known ? this.sync('config-version') : undefined))
        .catch(() => {});
      this.o.onSubscribed?.();
    });
    subscription.on('message', ({ message }) => {
      if (!this.o.onMessage?.(message)) void this.sync('pushed');
    });
    subscription.on('unsubscribe', (count) => {
      if (count === 0 && this.subscription === subscription) this.resubscribe(this.backoff.next());
    });
    subscription.on('error', (error) => {
      if (this.subscription !== subscription) return;
      this.o.log.warn({ err: error.message }, 'cannot listen for config changes; retrying');
      this.resubscribe(this.backoff.next());
    });
  }

  private resubscribe(delayMs: number): void {
    const old = this.subscription;
    this.subscription = null;
    void old?.unsubscribe().catch(() => {});
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.subscribe();
    }, delayMs);
  }
}

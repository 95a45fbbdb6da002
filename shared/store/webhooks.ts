import type { StoreContext } from './context.ts';

/** Replay protection for webhook deliveries: an id is accepted once while it is remembered. */
export function webhookStore({ redis, keys }: StoreContext) {
  return {
    /** Marks the delivery id as seen; false when it already was (a replay). */
    async claim(id: string, ttlSeconds: number): Promise<boolean> {
      const result = await redis.set(keys.webhookSeen(id), '1', { nx: true, ex: ttlSeconds });
      return result === 'OK';
    },
    /** Forgets an id whose delivery could not be applied, so the sender's retry is not refused. */
    async release(id: string): Promise<void> {
      await redis.del(keys.webhookSeen(id));
    },
  };
}

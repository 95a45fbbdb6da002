import type { StoreContext } from './context.ts';

/** The counter agents poll to notice that groups or jobs changed. */
export function configVersionStore({ redis, keys }: StoreContext) {
  return {
    async get(): Promise<number> {
      const raw = await redis.get<string>(keys.configVersion());
      return raw === null ? 0 : Number(raw);
    },
    async bump(): Promise<number> {
      return redis.incr(keys.configVersion());
    },
  };
}

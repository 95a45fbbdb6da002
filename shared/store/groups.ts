import { membershipDigest } from '../summary/membership-digest.ts';
import { commitConfigChange } from './config-version.ts';
import { chunk, MEMBERS_PER_COMMAND, type StoreContext, sortedStrings } from './context.ts';

export interface GroupDiff {
  added: string[];
  removed: string[];
}

export function diffMembers(before: readonly string[], after: readonly string[]): GroupDiff {
  const old = new Set(before);
  const next = new Set(after);
  return {
    added: after.filter((ip) => !old.has(ip)).sort(),
    removed: before.filter((ip) => !next.has(ip)).sort(),
  };
}

export function groupStore(context: StoreContext) {
  const { redis, keys } = context;
  const store = {
    async list(): Promise<string[]> {
      return sortedStrings(await redis.smembers(keys.groupsList()));
    },

    /** How many IPs each group holds, in one round trip. */
    async sizes(groups: readonly string[]): Promise<Map<string, number>> {
      const out = new Map<string, number>();
      if (groups.length === 0) return out;
      const p = redis.pipeline();
      for (const g of groups) p.scard(keys.group(g));
      const results = (await p.exec()) as number[];
      groups.forEach((g, i) => {
        out.set(g, Number(results[i] ?? 0));
      });
      return out;
    },
    /** The group's IPs, or null when the group does not exist (neither listed nor populated). */
    async get(group: string): Promise<string[] | null> {
      const p = redis.pipeline();
      p.sismember(keys.groupsList(), group);
      p.smembers(keys.group(group));
      const [listed, members] = (await p.exec()) as [number, string[]];
      const ips = sortedStrings(members);
      return Number(listed) === 1 || ips.length > 0 ? ips : null;
    },

    /** Members of several groups in one round trip; unknown groups map to []. */
    async members(groups: readonly string[]): Promise<Map<string, string[]>> {
      const out = new Map<string, string[]>();
      if (groups.length === 0) return out;
      const p = redis.pipeline();
      for (const g of groups) p.smembers(keys.group(g));
      const results = (await p.exec()) as string[][];
      groups.forEach((g, i) => {
        out.set(g, sortedStrings(results[i]));
      });
      return out;
    },

    /** Which of these groups exist (listed in `groups-list` or holding members). */
    async existing(groups: readonly string[]): Promise<Set<string>> {
      const found = new Set<string>();
      if (groups.length === 0) return found;
      const p = redis.pipeline();
      for (const g of groups) {
        p.sismember(keys.groupsList(), g);
        p.exists(keys.group(g));
      }
      const results = (await p.exec()) as number[];
      groups.forEach((g, i) => {
        if (Number(results[i * 2]) === 1 || Number(results[i * 2 + 1]) === 1) found.add(g);
      });
      return found;
    },

    /**
     * Replaces the group's members atomically and bumps the config version. Members are written
     * to a staging key first when they need more than one command, then renamed over the group,
     * so an agent never reads a half-written group.
     */
    async replace(group: string, ips: readonly string[]): Promise<void> {
      const target = keys.group(group);
      const chunks = chunk(ips, MEMBERS_PER_COMMAND);
      if (chunks.length <= 1) {
        await commitConfigChange(context, {
          sets: [keys.groupsList()],
          write(tx) {
            tx.del(target);
            if (ips.length > 0) tx.sadd(target, ips[0]!, ...ips.slice(1));
            tx.sadd(keys.groupsList(), group);
            tx.set(keys.groupDigest(group), membershipDigest(ips));
          },
        });
        return;
      }
      const staging = keys.groupStaging(group, crypto.randomUUID());
      await commitConfigChange(context, {
        sets: [keys.groupsList()],
        async prepare() {
          for (const part of chunks) {
            const p = redis.pipeline();
            p.sadd(staging, part[0]!, ...part.slice(1));
            p.expire(staging, 300);
            await p.exec();
          }
        },
        write(tx) {
          tx.rename(staging, target);
          // RENAME carries the staging key's expiry over to the group, which would vanish with it.
          tx.persist(target);
          tx.sadd(keys.groupsList(), group);
          tx.set(keys.groupDigest(group), membershipDigest(ips));
        },
      });
    },

    /**
     * Adds and removes members in one transaction; creates the group if needed. A patch too large
     * for one request (over 1 MB: tens of thousands of members) is applied to the members read
     * back and swapped in whole, as `replace` does; a change made by someone else in between is lost.
     */
    async patch(group: string, add: readonly string[], remove: readonly string[]): Promise<void> {
      const target = keys.group(group);
      if (add.length + remove.length > MEMBERS_PER_COMMAND) {
        await store.replace(group, await membersAfter(target, add, remove));
        return;
      }
      // The membership digest (what a check compares the agents' summaries with) needs the whole
      // membership after the patch. A patch racing this one can leave a digest that matches neither;
      // the check then sees a digest over another member count and reads every status instead.
      let digest = '';
      await commitConfigChange(context, {
        sets: [target, keys.groupsList()],
        async prepare() {
          digest = membershipDigest(await membersAfter(target, add, remove));
        },
        write(tx) {
          for (const part of chunk(add, MEMBERS_PER_COMMAND)) tx.sadd(target, part[0]!, ...part.slice(1));
          for (const part of chunk(remove, MEMBERS_PER_COMMAND)) tx.srem(target, ...part);
          tx.sadd(keys.groupsList(), group);
          tx.set(keys.groupDigest(group), digest);
        },
      });
    },

    /** Deletes the group; false, changing nothing (not even the config version), when it was not there. */
    async remove(group: string): Promise<boolean> {
      const check = redis.pipeline();
      check.sismember(keys.groupsList(), group);
      check.exists(keys.group(group));
      const [listed, stored] = (await check.exec()) as [number, number];
      if (Number(listed) === 0 && Number(stored) === 0) return false;
      const [deleted, unlisted] = (await commitConfigChange(context, {
        sets: [keys.groupsList()],
        write(tx) {
          tx.del(keys.group(group));
          tx.srem(keys.groupsList(), group);
          tx.del(keys.groupDigest(group));
        },
      })) as [number, number];
      return Number(deleted) + Number(unlisted) > 0;
    },
  };
  /** The members `target` holds now, with `add` added and `remove` removed, sorted. */
  async function membersAfter(
    target: string,
    add: readonly string[],
    remove: readonly string[],
  ): Promise<string[]> {
    const members = new Set(sortedStrings(await redis.smembers(target)));
    for (const ip of add) members.add(ip);
    for (const ip of remove) members.delete(ip);
    return [...members].sort();
  }

  return store;
}

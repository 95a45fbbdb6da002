import { Redis } from '@upstash/redis';
import { createStore } from '../../../shared/store.ts';

export const DEMO = {
  agent: 'local',
  group: 'demo',
  job: 'demo',
  ips: ['127.0.0.1', '::1'],
  spec: '*/10 * * * * *',
} as const;

/**
 * Gives a fresh local stack something to show: a group of this machine's loopback addresses and a
 * job probing it every 10 s. An existing group or job is left as the user changed it.
 */
export async function seedDemo(gatewayUrl: string, token: string): Promise<boolean> {
  const redis = new Redis({ url: gatewayUrl, token, automaticDeserialization: false, retry: false });
  const store = createStore(redis);
  let seeded = false;
  if ((await store.groups.get(DEMO.group)) === null) {
    await store.groups.replace(DEMO.group, DEMO.ips);
    seeded = true;
  }
  if ((await store.jobs.get(DEMO.agent, DEMO.job)) === null) {
    await store.jobs.put(DEMO.agent, { SPEC: DEMO.spec, name: DEMO.job, group: [DEMO.group] });
    seeded = true;
  }
  return seeded;
}

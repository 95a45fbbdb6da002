import { keySchema } from './keys.ts';
import { agentStore } from './store/agents.ts';
import { configVersionStore } from './store/config-version.ts';
import type { RedisClient, StoreContext } from './store/context.ts';
import { groupViewStore } from './store/group-view.ts';
import { groupStore } from './store/groups.ts';
import { historyStore } from './store/history.ts';
import { jobStore } from './store/jobs.ts';
import { measurementStore } from './store/measurements.ts';
import { statusStore } from './store/statuses.ts';
import { webhookStore } from './store/webhooks.ts';

// Typed operations over Redis, shared by the Worker and the agent. Each resource lives in its own
// file under store/; this module puts them together over one client and one key schema.

export type { AgentSummary } from './store/agents.ts';
export type { RedisClient, StoreContext } from './store/context.ts';
export type { GroupView, GroupViewAgent } from './store/group-view.ts';
export { diffMembers, type GroupDiff } from './store/groups.ts';
export { HISTORY, type HistoryResolution, mergeHistoryPoints } from './store/history.ts';
export type { StoredJob } from './store/jobs.ts';
export type { StatusPage } from './store/statuses.ts';

export function createStore(redis: RedisClient, options: { prefix?: string } = {}) {
  const context: StoreContext = { redis, keys: keySchema(options.prefix ?? '') };
  return {
    ...context,
    groups: groupStore(context),
    jobs: jobStore(context),
    agents: agentStore(context),
    statuses: statusStore(context),
    configVersion: configVersionStore(context),
    history: historyStore(context),
    groupView: groupViewStore(context),
    webhooks: webhookStore(context),
    measurements: measurementStore(context),
  };
}

export type Store = ReturnType<typeof createStore>;

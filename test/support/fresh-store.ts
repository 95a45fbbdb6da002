import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createStore, type Store } from '../../shared/store.ts';
import { startTestBackend, type TestBackend } from './backend.ts';

/**
 * For a test file of store operations: one backend for the file, an empty database for each test.
 * Read `t.backend` and `t.store` inside tests (they are set once beforeAll has run).
 */
export function useFreshStore(): { backend: TestBackend; store: Store } {
  const t = {} as { backend: TestBackend; store: Store };
  beforeAll(async () => {
    t.backend = await startTestBackend();
    t.store = createStore(t.backend.redis);
  });
  afterAll(() => t.backend?.close());
  beforeEach(async () => {
    await t.backend.redis.flushdb();
  });
  return t;
}

import { createRoute, z } from '@hono/zod-openapi';
import { storeOf } from '../env.ts';
import { newRouter } from '../router.ts';
import { json } from '../schemas.ts';

// GET /v1/health: unauthenticated, for load balancers and `ping-agent dev`. Says only whether
// Redis answers; nothing about what is stored.

export const health = newRouter();

const healthBody = z.object({ ok: z.boolean(), redis: z.enum(['up', 'down']) });

health.openapi(
  createRoute({
    method: 'get',
    path: '/',
    tags: ['health'],
    summary: 'Whether the API and Redis answer',
    responses: { 200: json(healthBody, 'Redis answers'), 503: json(healthBody, 'Redis does not answer') },
  }),
  async (c) => {
    const store = storeOf(c);
    try {
      await store.redis.ping();
      return c.json({ ok: true, redis: 'up' as const }, 200);
    } catch {
      return c.json({ ok: false, redis: 'down' as const }, 503);
    }
  },
);

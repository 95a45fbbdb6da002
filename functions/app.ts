import { OpenAPIHono } from '@hono/zod-openapi';
import { requireToken } from './auth.ts';
import { limitBody, requireJson } from './body.ts';
import { dashboard } from './dashboard/routes.ts';
import type { AppEnv } from './env.ts';
import { onError, onNotFound } from './errors.ts';
import { docsPage } from './openapi/docs-page.ts';
import { validationHook } from './router.ts';
import { agents } from './routes/agents.ts';
import { check } from './routes/check.ts';
import { groups } from './routes/groups.ts';
import { health } from './routes/health.ts';
import { jobs } from './routes/jobs.ts';
import { reports } from './routes/reports.ts';
import { webhooks } from './webhooks/groups.ts';

// The Worker's Hono app: one sub-app per resource under /v1, bearer auth on everything but health,
// docs and webhooks (which carry their own signature), one error envelope for every failure.

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.onError(onError);
  app.notFound(onNotFound);

  app.use('*', limitBody);
  app.route('/v1/health', health);
  app.route('/v1/webhooks', webhooks);
  // The dashboard page holds no data; it calls the API with the token its user types in.
  app.route('/dashboard', dashboard);

  app.use('/v1/*', async (c, next) => {
    if (c.req.path.startsWith('/v1/webhooks/') || c.req.path === '/v1/health') return next();
    return requireToken(c, next);
  });
  app.use('/v1/*', async (c, next) => {
    if (c.req.path.startsWith('/v1/webhooks/')) return next();
    return requireJson(c, next);
  });
  app.route('/v1/groups', groups);
  app.route('/v1/agents', jobs);
  app.route('/v1/agents', agents);
  app.route('/v1', reports);
  app.route('/v1/check', check);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'API_TOKEN (read and write) or READ_TOKEN (read only)',
  });
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'ping-agent API',
      version: '1',
      description: 'Groups, jobs, agents, reports, a CI verdict and signed webhooks for ping-agent.',
    },
    servers: [{ url: new URL(c.req.url).origin }],
  }));
  app.get('/docs', (c) => c.html(docsPage()));
  app.get('/', (c) => c.redirect('/dashboard'));
  return app;
}

export const app = createApp();

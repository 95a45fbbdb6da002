import { OpenAPIHono } from '@hono/zod-openapi';
import { except } from 'hono/combine';
import { requireToken } from './auth.ts';
import { dashboard } from './dashboard/routes.ts';
import type { AppEnv } from './env.ts';
import { onError } from './errors.ts';
import { notFoundOrNotAllowed } from './method-not-allowed.ts';
import { docsPage } from './openapi/docs-page.ts';
import { validationHook } from './router.ts';
import { agents } from './routes/agents.ts';
import { alerts } from './routes/alerts.ts';
import { check } from './routes/check.ts';
import { groups } from './routes/groups.ts';
import { health } from './routes/health.ts';
import { jobs } from './routes/jobs.ts';
import { measurements } from './routes/measurements.ts';
import { notifiers } from './routes/notifiers.ts';
import { reports } from './routes/reports.ts';
import { securePage } from './secure-page.ts';
import { webhooks } from './webhooks/groups.ts';

// The Worker's Hono app: one sub-app per resource under /v1, bearer auth on everything under /v1
// but PUBLIC_ROUTES, one error envelope for every failure. The order a request meets the rules:
// authentication, then routing (404, or 405 with Allow), then the body (router.ts), then the handler.

/** Paths under /v1 answered without a bearer token: health is for load balancers, and a webhook's
 * signature is its credential. A new public route is added here. */
export const PUBLIC_ROUTES = ['/v1/health', '/v1/webhooks/*'];

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.onError(onError);
  app.notFound(notFoundOrNotAllowed(app));

  // Registered before every route, and bodies are read only by the routes that take one (router.ts),
  // so no body is looked at before the token.
  app.use('/v1/*', except(PUBLIC_ROUTES, requireToken));
  app.route('/v1/health', health);
  app.route('/v1/webhooks', webhooks);
  // The dashboard page holds no data; it calls the API with the token its user types in.
  app.route('/dashboard', dashboard);
  app.route('/v1/groups', groups);
  app.route('/v1/agents', jobs);
  app.route('/v1/agents', agents);
  app.route('/v1', reports);
  app.route('/v1/check', check);
  app.route('/v1/measurements', measurements);
  app.route('/v1/alerts', alerts);
  app.route('/v1/notifiers', notifiers);

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
  app.get('/docs', (c) => securePage(c, docsPage()));
  app.get('/', (c) => c.redirect('/dashboard'));
  return app;
}

export const app = createApp();

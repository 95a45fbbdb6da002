import { OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { READ_METHODS } from './auth.ts';
import { jsonBody, limitBody } from './body.ts';
import type { AppEnv } from './env.ts';
import { apiError } from './errors.ts';
import { errorResponse } from './schemas.ts';

// Every sub-app is an OpenAPIHono with the same validation hook, so a bad body, query or path
// answers the same way everywhere: 422 for a JSON body that does not fit its schema (the body was
// understood, its content is wrong), 400 for a malformed query string or path.
//
// The rules every route shares are derived from what the route declares, in one place: a declared
// body gets the size limit (and, when zod validates it as JSON, the media type and UTF-8 checks) as
// route middleware, which runs only once the request is authenticated and routed; and the answers
// those rules give (400, 401, 403, 413, 415, 422, 500, 503) are added to the route's description,
// so /openapi.json lists what the code does.

interface HookResult {
  success: boolean;
  target: string;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}

export function validationHook(result: HookResult): void {
  if (result.success) return;
  const issues = (result.error?.issues ?? []).map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  const where = first?.path ? `${first.path}: ` : '';
  const summary = first ? `${where}${first.message}` : 'invalid input';
  if (result.target === 'json') {
    throw apiError(422, 'validation', `the request body is not valid: ${summary}`, { issues });
  }
  const part = result.target === 'param' ? 'path' : result.target;
  throw apiError(400, 'invalid_request', `the ${part} is not valid: ${summary}`, { issues });
}

export function newRouter() {
  const router = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const register = router.openapi;
  router.openapi = ((route: RouteConfig, handler: never, hook?: never) =>
    register(withSharedRules(route), handler, hook)) as typeof register;
  return router;
}

/** The route with the shared body middleware and the answers the shared rules may give. */
function withSharedRules<R extends RouteConfig>(route: R): R {
  const body = route.request?.body;
  // A body described by a zod JSON schema is parsed by the router; the webhook's is not (its
  // signature covers the raw bytes, so it checks the media type itself, after the signature).
  const media = body?.content['application/json'];
  const validated = media !== undefined && 'schema' in media && media.schema instanceof z.ZodType;
  const own = route.middleware === undefined ? [] : [route.middleware].flat();
  const middleware: MiddlewareHandler[] = [
    ...(body ? [limitBody] : []),
    ...(validated ? [jsonBody] : []),
    ...(own as MiddlewareHandler[]),
  ];
  const shared: RouteConfig['responses'] = {};
  const { params, query, headers } = route.request ?? {};
  if (params || query || headers || validated) {
    shared[400] = errorResponse('malformed path, query, header or JSON body, or a body that is not UTF-8');
  }
  if (route.security?.length) {
    shared[401] = errorResponse('missing or wrong bearer token');
    if (!READ_METHODS.has(route.method.toUpperCase()))
      shared[403] = errorResponse('the read-only token cannot write');
  }
  if (body) shared[413] = errorResponse(`body over 1 MB`);
  if (validated) {
    shared[415] = errorResponse('the body is not application/json');
    shared[422] = errorResponse('the body does not fit the schema');
  }
  shared[500] = errorResponse('a Worker binding is missing or malformed, or Redis refused a command');
  shared[503] = errorResponse('Redis (or the gateway in front of it) did not answer');
  return {
    ...route,
    middleware: middleware.length > 0 ? middleware : undefined,
    responses: { ...shared, ...route.responses },
  };
}

import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './env.ts';
import { apiError } from './errors.ts';

// Every sub-app is an OpenAPIHono with the same validation hook, so a bad body, query or path
// answers the same way everywhere: 422 for a JSON body that does not fit its schema (the body was
// understood, its content is wrong), 400 for a malformed query string or path.

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
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

import type { Context, Hono, NotFoundHandler } from 'hono';
import { TrieRouter } from 'hono/router/trie-router';
import type { AppEnv } from './env.ts';
import { onNotFound } from './errors.ts';

// A request no route answers: 405 with `Allow` when the path exists under other methods, else 404.
// The methods are read from the app's own routes, so the answer cannot disagree with the routing.

export function notFoundOrNotAllowed(app: Hono<AppEnv>): NotFoundHandler<AppEnv> {
  let paths: TrieRouter<string> | undefined;
  return (c: Context<AppEnv>) => {
    // Built on first use, once every route is registered. Middleware is registered for ALL.
    if (!paths) {
      paths = new TrieRouter<string>();
      for (const r of app.routes) if (r.method !== 'ALL') paths.add('ALL', r.path, r.method);
    }
    const [matches] = paths.match('ALL', c.req.path);
    const methods = new Set(matches.map(([method]) => method as string));
    if (methods.size === 0 || methods.has(c.req.method)) return onNotFound(c);
    if (methods.has('GET')) methods.add('HEAD');
    const allow = [...methods].sort();
    return c.json(
      {
        error: {
          type: 'method_not_allowed',
          message: `${c.req.method} is not allowed on ${c.req.path}; it answers ${allow.join(', ')}`,
          allow,
        },
      },
      405,
      { Allow: allow.join(', ') },
    );
  };
}

/** Where the gateway's Redis is and how to log in to it, from a `redis://` or `rediss://` URL. */
export interface RedisTarget {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  db: number;
}

/**
 * Parses `redis[s]://[[user]:password@]host[:port][/db]`. Throws an Error whose message names the
 * bad part, so the CLI can pass it on as a usage error.
 */
export function parseRedisUrl(raw: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL; write it like redis://127.0.0.1:6379`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`"${raw}" must start with redis:// or rediss:// (TLS)`);
  }
  if (!url.hostname) throw new Error(`"${raw}" has no host; write it like redis://127.0.0.1:6379`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^[0-9]{1,5}$/.test(path)) {
    throw new Error(`"${raw}" ends in "/${path}"; the path, if any, is a database number such as /0`);
  }
  const target: RedisTarget = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    tls: url.protocol === 'rediss:',
    db: path === '' ? 0 : Number(path),
  };
  if (url.username) target.username = decodeURIComponent(url.username);
  if (url.password) target.password = decodeURIComponent(url.password);
  return target;
}

/** The URL without its password, for logs and error messages. */
export function describeTarget(target: RedisTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.tls ? 'rediss' : 'redis'}://${host}:${target.port}${target.db ? `/${target.db}` : ''}`;
}

import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { RedisTarget } from './redis-url.ts';

// Dialling Redis and logging in, shared by the pipelined connections and the subscribers: both
// must reach the same server the same way, TLS and password included.

/** A new socket to `target`; it emits 'secureConnect' (TLS) or 'connect' once usable. */
export function dialRedis(target: RedisTarget): Socket {
  const { host, port, tls } = target;
  const socket = tls ? connectTls({ host, port, servername: host }) : connectTcp({ host, port });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 30_000);
  return socket;
}

/** The event a socket from dialRedis emits once it can carry commands. */
export function readyEvent(target: RedisTarget): 'secureConnect' | 'connect' {
  return target.tls ? 'secureConnect' : 'connect';
}

/** AUTH and SELECT for a new connection, as the URL asks; empty when it asks for neither. */
export function loginCommands(target: RedisTarget, selectDb = true): string[][] {
  const { username, password, db } = target;
  const commands: string[][] = [];
  if (password !== undefined) commands.push(username ? ['AUTH', username, password] : ['AUTH', password]);
  if (selectDb && db !== 0) commands.push(['SELECT', String(db)]);
  return commands;
}

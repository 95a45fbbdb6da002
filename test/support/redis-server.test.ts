import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RedisServer } from './redis-server.ts';

describe('RedisServer', () => {
  it('says how to install redis-server when it is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(RedisServer.start()).rejects.toThrow(/apt-get install redis-server/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('stops and starts again on the same port', async () => {
    const server = await RedisServer.start();
    try {
      expect(await answersPing(server.port)).toBe(true);
      await server.stop();
      expect(await answersPing(server.port)).toBe(false);
      await server.startAgain();
      expect(await answersPing(server.port)).toBe(true);
    } finally {
      await server.close();
    }
    expect(await answersPing(server.port)).toBe(false);
  });
});

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      resolve(chunk.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.on('error', () => resolve(false));
  });
}

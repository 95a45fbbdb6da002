import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from './logger.ts';

function capture(level: LogLevel) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger('edge-1', level, sink), lines };
}

describe('createLogger', () => {
  it('writes JSON lines with the agent name and never the token', () => {
    const { log, lines } = capture('info');
    log.info({ config: { redisToken: 'secret-1', name: 'edge-1' }, token: 'secret-2' }, 'started');
    log.debug('not at info');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 30, agent: 'edge-1', msg: 'started', token: '[redacted]' });
    expect(line.config.redisToken).toBe('[redacted]');
    expect(lines[0]).not.toContain('secret');
  });

  it('redacts authorization headers at any depth', () => {
    const { log, lines } = capture('info');
    log.warn({ request: { headers: { authorization: 'Bearer secret-3' } } }, 'refused');
    expect(lines[0]).not.toContain('secret');
    expect(JSON.parse(lines[0]!).request.headers.authorization).toBe('[redacted]');
  });

  it('keeps pino line shape: numeric level, ISO time, one line per call', () => {
    const { log, lines } = capture('debug');
    log.debug('a');
    log.error({ job: 'j' }, 'b');
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    const [a, b] = lines.map((l) => JSON.parse(l));
    expect(a).toMatchObject({ level: 20, msg: 'a' });
    expect(b).toMatchObject({ level: 50, job: 'j', msg: 'b' });
    expect(new Date(b.time).toISOString()).toBe(b.time);
  });

  it('writes nothing when silent, and only worse levels above the threshold', () => {
    const silent = capture('silent');
    silent.log.fatal('gone');
    expect(silent.lines).toHaveLength(0);
    const warn = capture('warn');
    warn.log.info('no');
    warn.log.warn('yes');
    warn.log.fatal('yes');
    expect(warn.lines.map((l) => JSON.parse(l).level)).toEqual([40, 60]);
  });

  it('still writes the message when a field cannot be serialised', () => {
    const { log, lines } = capture('info');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => log.error({ cyclic, n: 1n }, 'odd fields')).not.toThrow();
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 50, msg: 'odd fields' });
    expect(line.log_error).toMatch(/circular|BigInt/i);
  });

  it('keeps going when its destination fails (a closed pipe)', async () => {
    const broken = new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const log = createLogger('edge-1', 'info', broken);
    expect(() => log.info('one')).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(() => log.info('two')).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(broken.destroyed).toBe(true);
  });
});

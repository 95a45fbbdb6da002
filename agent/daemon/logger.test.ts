import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('createLogger', () => {
  it('writes JSON lines with the agent name and never the token', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger('edge-1', 'info', sink);
    log.info({ config: { redisToken: 'secret-1', name: 'edge-1' }, token: 'secret-2' }, 'started');
    log.debug('not at info');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ agent: 'edge-1', msg: 'started', token: '[redacted]' });
    expect(line.config.redisToken).toBe('[redacted]');
    expect(lines[0]).not.toContain('secret');
  });
});

import { describe, expect, it } from 'vitest';
import { refusalFor } from './command-rules.ts';

describe('refusalFor', () => {
  it('lets the read-write token run ordinary commands in any case', () => {
    for (const command of [
      ['set', 'k', 'v'],
      ['GET', 'k'],
      ['EvAl', 'return 1', 0],
      ['XREAD', 'STREAMS', 'block', '0'],
    ]) {
      expect(refusalFor(command, false), command.join(' ')).toBeNull();
    }
  });

  it('refuses commands that would block or change a shared connection, for every token', () => {
    for (const name of ['BLPOP', 'bzpopmax', 'Subscribe', 'MULTI', 'select', 'CLIENT', 'hello', 'MONITOR']) {
      for (const readOnly of [false, true]) {
        const refusal = refusalFor([name, 'x'], readOnly);
        expect(refusal?.status, name).toBe(400);
        expect(refusal?.message, name).toMatch(/^ERR '.+' is not supported over the REST gateway: it /);
      }
    }
  });

  it('refuses XREAD and XREADGROUP only when they block', () => {
    expect(refusalFor(['XREAD', 'COUNT', '2', 'BLOCK', '10', 'STREAMS', 's', '0'], false)?.status).toBe(400);
    expect(
      refusalFor(['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>'], false)?.status,
    ).toBe(400);
    expect(refusalFor(['XREAD', 'COUNT', '2', 'STREAMS', 's', '0'], false)).toBeNull();
  });

  it('gives the read-only token reads only', () => {
    for (const command of [
      ['GET', 'k'],
      ['smembers', 's'],
      ['PING'],
      ['EVAL_RO', 's', 0],
      ['OBJECT', 'ENCODING', 'k'],
    ]) {
      expect(refusalFor(command, true), command.join(' ')).toBeNull();
    }
    for (const command of [
      ['SET', 'k', 'v'],
      ['EVAL', 's', 0],
      ['OBJECT'],
      ['SCRIPT', 'FLUSH'],
      ['SORT', 'k'],
      ['FLUSHALL'],
    ]) {
      const refusal = refusalFor(command, true);
      expect(refusal?.status, command.join(' ')).toBe(403);
      expect(refusal?.message).toMatch(/^NOPERM this token is read-only/);
    }
  });
});

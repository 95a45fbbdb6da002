import { describe, expect, it } from 'vitest';
import { ADMIN_ONLY, allowedCommands, refusalFor } from './command-rules.ts';

describe('refusalFor', () => {
  it('lets the read-write token run ordinary commands in any case', () => {
    for (const command of [
      ['set', 'k', 'v'],
      ['GET', 'k'],
      ['XREAD', 'STREAMS', 'block', '0'],
      ['COPY', 'a', 'db'],
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
    for (const command of [['GET', 'k'], ['smembers', 's'], ['PING'], ['OBJECT', 'ENCODING', 'k']]) {
      expect(refusalFor(command, true), command.join(' ')).toBeNull();
    }
    for (const command of [['SET', 'k', 'v'], ['EVAL', 's', 0], ['OBJECT'], ['SORT', 'k'], ['FLUSHDB']]) {
      const refusal = refusalFor(command, true, new Set(['flushdb']));
      expect(refusal?.status, command.join(' ')).toBe(403);
      expect(refusal?.message).toMatch(
        /^NOPERM (this token is read-only|the read-only token may not run scripts)/,
      );
    }
  });
});

describe('commands refused unless allowed', () => {
  it('refuses them for every token by default, and allows them by name for the read-write token', () => {
    for (const command of [
      ['FLUSHALL'],
      ['EVAL', 's', 0],
      ['SCRIPT', 'LOAD', 's'],
      ['COPY', 'a', 'b', 'DB', 1],
    ]) {
      expect(refusalFor(command, false)?.status, command.join(' ')).toBe(400);
    }
    const allowed = allowedCommands(['Eval', 'script', 'copy-db']);
    expect(refusalFor(['EVAL', 's', 0], false, allowed)).toBeNull();
    expect(refusalFor(['SCRIPT', 'LOAD', 's'], false, allowed)).toBeNull();
    expect(refusalFor(['COPY', 'a', 'b', 'DB', 1], false, allowed)).toBeNull();
    // SCRIPT FLUSH is a rule of its own.
    expect(refusalFor(['SCRIPT', 'flush'], false, allowed)?.message).toMatch(
      /'script-flush' is not supported/,
    );
    // Never a script for the read-only token.
    for (const name of ['EVAL', 'EVAL_RO', 'EVALSHA_RO', 'FCALL_RO']) {
      expect(
        refusalFor([name, 's', 0], true, new Set(['eval', 'eval_ro', 'evalsha_ro', 'fcall_ro']))?.status,
      ).toBe(403);
    }
  });

  it('will not allow a name it does not refuse, or one that would break shared connections', () => {
    expect(() => allowedCommands(['get'])).toThrow(/'get' is not a command the gateway refuses/);
    expect(() => allowedCommands(['blpop'])).toThrow(/'blpop' cannot be allowed: it blocks/);
    expect(() => allowedCommands(['acl'])).toThrow(/'acl' cannot be allowed: it manages Redis users/);
    expect(ADMIN_ONLY).toContain('acl');
  });
});

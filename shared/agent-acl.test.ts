import { describe, expect, it } from 'vitest';
import { AGENT_ACCESS, agentAclRules, agentKeyPatterns, agentUserName } from './agent-acl.ts';
import { keySchema } from './keys.ts';

/** Redis's glob as ACL key patterns use it: `*`, `?` and backslash escapes (enough for ours). */
function globMatches(pattern: string, key: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') source += escapeRegExp(pattern[++i] ?? '');
    else if (c === '*') source += '[\\s\\S]*';
    else if (c === '?') source += '[\\s\\S]';
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`).test(key);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

type Family = keyof typeof AGENT_ACCESS;

/** One key of the family, of `agent` (or of group `agent` for families that have no agent). */
function sampleKey(prefix: string, family: Family, agent: string): string {
  const fn = keySchema(prefix)[family] as (...parts: unknown[]) => string;
  return fn(...[agent, '10.0.0.1', 7].slice(0, fn.length));
}

describe('agent ACL rules', () => {
  it('classify every key family of shared/keys.ts: a new family needs a decision here first', () => {
    const families = Object.keys(keySchema()).filter((name) => name !== 'prefix');
    expect(Object.keys(AGENT_ACCESS).sort()).toEqual(families.sort());
  });

  for (const prefix of ['', 'prod:', 'we*ird[1]?']) {
    describe(`with prefix "${prefix}"`, () => {
      const mine = agentKeyPatterns('a1', prefix);
      const all = [...mine.write, ...mine.read, ...mine.sadd];
      const matchesAny = (patterns: string[], key: string) => patterns.some((p) => globMatches(p, key));

      for (const [family, access] of Object.entries(AGENT_ACCESS) as [Family, string][]) {
        if (access === 'subscribe') continue;
        it(`${family} (${access})`, () => {
          const own = sampleKey(prefix, family, 'a1');
          const other = sampleKey(prefix, family, 'a2');
          if (access === 'own-write') {
            expect(matchesAny(mine.write, own)).toBe(true);
            expect(matchesAny(all, other)).toBe(false);
          } else if (access === 'own-read') {
            expect(matchesAny(mine.read, own)).toBe(true);
            expect(matchesAny(mine.write, own)).toBe(false);
            expect(matchesAny(all, other)).toBe(false);
          } else if (access === 'read') {
            expect(matchesAny(mine.read, own)).toBe(true);
            expect(matchesAny(mine.read, other)).toBe(true);
            expect(matchesAny([...mine.write, ...mine.sadd], own)).toBe(false);
          } else if (access === 'sadd') {
            expect(mine.sadd.map((p) => globMatches(p, own))).toEqual([true]);
            expect(matchesAny([...mine.write, ...mine.read], own)).toBe(false);
          } else {
            expect(matchesAny(all, own)).toBe(false);
            expect(matchesAny(all, other)).toBe(false);
          }
          // No pattern reaches outside the deployment's prefix.
          if (prefix !== '') expect(matchesAny(all, sampleKey('', family, 'a1'))).toBe(false);
        });
      }

      it('subscribes to the config channel only', () => {
        expect(mine.channels.length).toBe(1);
        expect(globMatches(mine.channels[0]!, keySchema(prefix).configChannel())).toBe(true);
      });
    });
  }

  it('an agent whose name starts like another agent reaches none of its keys', () => {
    const keys = keySchema();
    const patterns = agentKeyPatterns('a1');
    const all = [...patterns.write, ...patterns.read];
    // Agent names have no `_`, so `ip_a1_*` cannot match agent `a1.b`'s or `a10`'s keys.
    for (const other of ['a10', 'a1.b', 'a1-2']) {
      expect(all.some((p) => globMatches(p, keys.ipStatus(other, '10.0.0.1')))).toBe(false);
      expect(all.some((p) => globMatches(p, keys.agentJob(other, 'j')))).toBe(false);
    }
  });

  it('redis7 grants writes by ~, reads by %R~, agent-list through an SADD-only selector', () => {
    const rules = agentAclRules('a1', 'secret');
    expect(rules.slice(0, 4)).toEqual(['reset', 'on', '>secret', 'resetchannels']);
    expect(rules).toContain('~ip_a1_*');
    expect(rules).toContain('%R~group_*');
    expect(rules).toContain('(+sadd ~agent-list)');
    expect(rules).not.toContain('~agent-list');
    expect(rules.some((r) => /^\+(eval|acl|flushall|keys|config|@)/.test(r))).toBe(false);
  });

  it('redis6 uses plain ~ patterns and no selector', () => {
    const rules = agentAclRules('a1', 'secret', { flavour: 'redis6' });
    expect(rules.some((r) => r.startsWith('%') || r.startsWith('('))).toBe(false);
    expect(rules).toContain('~agent-list');
    expect(rules).toContain('~group_*');
  });

  it('names users apart per deployment prefix', () => {
    expect(agentUserName('a1')).toBe('ping-agent.a1');
    expect(agentUserName('a1', 'prod:')).toBe('ping-agent.prod:a1');
  });
});

import { describe, expect, it } from 'vitest';
import { isValidName, toAgentName } from './names.ts';

describe('name rules', () => {
  it('keeps `_` out of agent names so keys parse back', () => {
    expect(isValidName('agent', 'dc1-a.example')).toBe(true);
    expect(isValidName('agent', 'dc1_a')).toBe(false);
    expect(isValidName('agent', '-a')).toBe(false);
    expect(isValidName('agent', 'a'.repeat(64))).toBe(true);
    expect(isValidName('agent', 'a'.repeat(65))).toBe(false);
  });
  it('allows `_` in group and job names', () => {
    expect(isValidName('group', 'dc_1')).toBe(true);
    expect(isValidName('job', 'core_10s')).toBe(true);
    expect(isValidName('group', '_dc')).toBe(false);
    expect(isValidName('group', 'dc 1')).toBe(false);
    expect(isValidName('group', '')).toBe(false);
  });
  it('turns a hostname into a valid agent name', () => {
    expect(toAgentName('web_01.prod')).toBe('web-01.prod');
    expect(toAgentName('__x')).toBe('x');
    expect(toAgentName('___')).toBe('');
    expect(toAgentName('h'.repeat(80))).toHaveLength(64);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../agent/daemon/config.ts';

const unit = readFileSync(new URL('./ping-agent.service', import.meta.url), 'utf8');
const example = readFileSync(new URL('./agent.env.example', import.meta.url), 'utf8');

function directives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) out.set(match[1]!, [...(out.get(match[1]!) ?? []), match[2]!]);
  }
  return out;
}

const d = directives(unit);

describe('the systemd unit', () => {
  it('runs the agent as a non-root user with only CAP_NET_RAW and the env file', () => {
    expect(d.get('User')?.[0]).toBe('ping-agent');
    expect(d.get('AmbientCapabilities')).toEqual(['CAP_NET_RAW']);
    expect(d.get('CapabilityBoundingSet')).toEqual(['CAP_NET_RAW']);
    expect(d.get('EnvironmentFile')).toEqual(['/etc/ping-agent/agent.env']);
    expect(d.get('ExecStart')?.[0]).toMatch(/ping-agent run$/);
    expect(d.get('NoNewPrivileges')).toEqual(['true']);
  });
});

describe('the command the unit starts', () => {
  it("is the package's built bin, which the tarball carries, not a TypeScript launcher", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      bin: Record<string, string>;
      files: string[];
    };
    const command = /\/([^/\s]+) run$/.exec(d.get('ExecStart')?.[0] ?? '')?.[1];
    const bin = pkg.bin[command ?? ''];
    expect(bin).toBe('dist/ping-agent.js');
    expect(pkg.files.some((f) => bin!.startsWith(f))).toBe(true);
  });
});

describe('the example env file', () => {
  it('names only variables the agent reads, and its values load', () => {
    const env: Record<string, string> = {};
    for (const line of example.split('\n')) {
      const match = /^#?([A-Z_]+)=(.*)$/.exec(line.trim());
      if (!match) continue;
      expect(CONFIG_VARIABLES).toContain(match[1]);
      env[match[1]!] = match[2]!;
    }
    expect(Object.keys(env).length).toBeGreaterThanOrEqual(10);
    expect(() => loadConfig(env)).not.toThrow();
  });
});

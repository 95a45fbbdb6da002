import { describe, expect, it } from 'vitest';
import { keySchema } from '../keys.ts';
import { groupSummarySchema, type IpStatus } from '../schema.ts';
import { membershipDigest } from './membership-digest.ts';
import { SummaryBook } from './summary-book.ts';

const keys = keySchema();
const T0 = Date.parse('2026-03-01T12:00:00Z');
const status = (ip: string, loss = 0): IpStatus => ({
  ip,
  send_count: 10,
  return_count: 10 - loss * 10,
  err: loss > 0 ? 'timeout' : null,
  rtt_avg_ms: 1,
  loss_window: loss,
  updated_at: new Date(T0).toISOString(),
});

describe('SummaryBook', () => {
  const book = () => {
    const b = new SummaryBook('edge-1', keys);
    b.probed(
      new Map([
        ['a', ['10.0.0.2', '10.0.0.1']],
        ['b', ['10.0.0.2', '10.0.0.3']],
      ]),
      T0,
    );
    return b;
  };
  const held = new Map([
    ['10.0.0.1', status('10.0.0.1')],
    ['10.0.0.2', status('10.0.0.2', 0.5)],
    ['10.0.0.3', status('10.0.0.3', 0.2)],
  ]);

  it('writes the summaries of the groups a run probed, and the roll-up over distinct targets', () => {
    const entries = new Map(book().entries(['a'], [], (ip) => held.get(ip), T0 + 1000));
    expect([...entries.keys()]).toEqual(['group-summary_edge-1_a', 'agent-summary_edge-1']);
    const summary = groupSummarySchema.parse(JSON.parse(entries.get('group-summary_edge-1_a')!));
    expect(summary).toMatchObject({
      computed_at: new Date(T0).toISOString(),
      digest: membershipDigest(['10.0.0.1', '10.0.0.2']),
      members: 2,
      missing: [],
    });
    expect(JSON.parse(entries.get('agent-summary_edge-1')!)).toEqual({
      computed_at: new Date(T0 + 1000).toISOString(),
      targets: 3,
      lossy: 2,
    });
  });

  it('rewrites, keeping its time, the summary of another group holding an IP the run wrote', () => {
    const b = book();
    b.probed(new Map([['a', ['10.0.0.2', '10.0.0.1']]]), T0 + 10_000);
    const entries = new Map(b.entries(['a'], ['10.0.0.2'], (ip) => held.get(ip), T0 + 10_000));
    expect([...entries.keys()]).toEqual([
      'group-summary_edge-1_a',
      'group-summary_edge-1_b',
      'agent-summary_edge-1',
    ]);
    expect(JSON.parse(entries.get('group-summary_edge-1_b')!).computed_at).toBe(new Date(T0).toISOString());
    expect(JSON.parse(entries.get('group-summary_edge-1_a')!).computed_at).toBe(
      new Date(T0 + 10_000).toISOString(),
    );
    expect(b.entries([], ['10.9.9.9'], () => undefined, T0)).toEqual([]);
  });

  it('follows a group whose members were read again, and keeps them while the same list is probed', () => {
    const b = new SummaryBook('edge-1', keys);
    const first = ['10.0.0.1'];
    b.probed(new Map([['a', first]]), T0);
    b.probed(new Map([['a', first]]), T0 + 1000);
    const before = groupSummarySchema.parse(
      JSON.parse(b.entries(['a'], [], (ip) => held.get(ip), T0)[0]![1]),
    );
    expect(before).toMatchObject({ computed_at: new Date(T0 + 1000).toISOString(), members: 1 });
    b.probed(new Map([['a', ['10.0.0.3', '10.0.0.1']]]), T0 + 2000);
    const after = groupSummarySchema.parse(JSON.parse(b.entries(['a'], [], (ip) => held.get(ip), T0)[0]![1]));
    expect(after).toMatchObject({ digest: membershipDigest(['10.0.0.1', '10.0.0.3']), members: 2 });
  });

  it('lets go of groups no job probes any more, answering their keys to delete', () => {
    const b = book();
    expect(b.retain(new Set(['a']))).toEqual(['group-summary_edge-1_b']);
    expect(b.entries(['b'], [], (ip) => held.get(ip), T0)).toEqual([]);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GroupSummary, IpStatus } from '../../shared/schema.ts';
import type { GroupView } from '../../shared/store.ts';
import { buildSummary } from '../../shared/summary/build-summary.ts';
import { membershipDigest } from '../../shared/summary/membership-digest.ts';
import { expectDecline, summaryVerdict } from './summary-verdict.ts';
import { DEFAULT_LIMITS, type Limits, verdict } from './verdict.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const POOL = ['10.0.0.1', '10.0.0.2', '10.0.0.10', '10.0.1.1', '198.18.0.9', 'fd00::1', 'fd00::a', '::1'];
// Small limits, so that truncation and the unlisted bounds come up in states of a few members.
const SMALL = { listed: 4, topRtt: 2 };

const statusArb = (ip: string) =>
  fc
    .record({
      sent: fc.integer({ min: 0, max: 40 }),
      lostShare: fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
      window: fc.option(
        fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
        {
          nil: undefined,
        },
      ),
      rtt: fc.option(fc.oneof(fc.constant(1), fc.double({ min: 0, max: 500, noNaN: true })), { nil: null }),
      ageS: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 900 })),
    })
    .map(({ sent, lostShare, window, rtt, ageS }): IpStatus => {
      const returned = Math.round(sent * (1 - lostShare));
      return {
        ip,
        send_count: sent,
        return_count: returned,
        err: returned < sent ? 'timeout' : null,
        rtt_avg_ms: returned === 0 ? null : rtt,
        ...(window === undefined ? {} : { loss_window: window }),
        updated_at: new Date(NOW - ageS * 1000).toISOString(),
      };
    });

const statusesArb = fc
  .tuple(...POOL.map((ip) => fc.option(statusArb(ip), { nil: undefined })))
  .map((list) => new Map(list.flatMap((s) => (s ? [[s.ip, s] as const] : []))));

const agentArb = fc.record({
  online: fc.boolean(),
  statuses: statusesArb,
  // none; of the current membership; of another one (with the statuses it saw then)
  summary: fc.constantFrom('none', 'current', 'current', 'current', 'other'),
  otherMembers: fc.subarray(POOL),
  olderStatuses: statusesArb,
  summaryAgeS: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 900 })),
});

const limitsArb: fc.Arbitrary<Limits> = fc.record({
  max_loss: fc.oneof(
    fc.constant(0),
    fc.constant(1),
    fc.constantFrom(0.01, 0.1, 0.5),
    fc.double({ min: 0, max: 1, noNaN: true }),
  ),
  max_rtt_ms: fc.option(fc.oneof(fc.constantFrom(1, 100), fc.double({ min: 0, max: 600, noNaN: true })), {
    nil: null,
  }),
  max_age_s: fc.constantFrom(1, 30, 180, 600, 3600),
});

const stateArb = fc.record({
  members: fc.subarray(POOL),
  agents: fc.array(agentArb, { maxLength: 3 }),
  limits: limitsArb,
  only: fc.boolean(),
});

describe('summaryVerdict against the full read', () => {
  it('never answers differently from reading every status (it may decline)', () => {
    let answered = 0;
    let runs = 0;
    fc.assert(
      fc.property(stateArb, ({ members, agents, limits, only }) => {
        runs++;
        const ips = [...members].sort();
        const names = agents.map((_, i) => `a${i}`);
        const summaries = new Map<string, GroupSummary>();
        agents.forEach((a, i) => {
          if (a.summary === 'none') return;
          const over = a.summary === 'current' ? ips : a.otherMembers;
          // The agent writes a summary with the statuses it covers, so one over the current
          // membership was built from the statuses Redis holds; an older one from older statuses.
          const current = membershipDigest(over) === membershipDigest(ips);
          const seen = current ? a.statuses : a.olderStatuses;
          summaries.set(
            names[i]!,
            buildSummary(
              { members: over, statusOf: (ip) => seen.get(ip), computedAtMs: NOW - a.summaryAgeS * 1000 },
              SMALL,
            ),
          );
        });
        const viewAgents = agents.map((a, i) => ({ name: names[i]!, online: a.online, jobs: ['j'] }));
        const onlyAgent = only && names.length > 0 ? names[0] : undefined;
        const full: GroupView = {
          group: 'g',
          ips,
          agents: viewAgents,
          statuses: new Map(agents.map((a, i) => [names[i]!, a.statuses])),
          summaries,
          roundTrips: 3,
        };
        const expected = verdict(full, limits, NOW, onlyAgent);
        const fast = summaryVerdict(
          { memberCount: ips.length, digest: membershipDigest(ips), agents: viewAgents, summaries },
          limits,
          NOW,
          onlyAgent,
        );
        if (fast.declined !== undefined) return;
        answered++;
        expect(fast.verdict).toEqual(expected);
      }),
      { numRuns: 3_000 },
    );
    // A property that holds because the fast path always declines would prove nothing.
    expect(answered / runs).toBeGreaterThan(0.2);
  });
});

describe('summaryVerdict', () => {
  const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
  const ok = (ip: string, extra: Partial<IpStatus> = {}): IpStatus => ({
    ip,
    send_count: 10,
    return_count: 10,
    err: null,
    rtt_avg_ms: 2,
    loss_window: 0,
    updated_at: new Date(NOW - 60_000).toISOString(),
    ...extra,
  });
  const statuses = new Map([
    ['10.0.0.1', ok('10.0.0.1')],
    ['10.0.0.2', ok('10.0.0.2', { loss_window: 0.3, rtt_avg_ms: 9 })],
    ['10.0.0.3', ok('10.0.0.3', { rtt_avg_ms: 40 })],
  ]);
  const summary = buildSummary(
    { members: ips, statusOf: (ip) => statuses.get(ip), computedAtMs: NOW - 5_000 },
    { listed: 2, topRtt: 1 },
  );
  const view = (over: Partial<Parameters<typeof summaryVerdict>[0]> = {}) => ({
    memberCount: 3,
    digest: membershipDigest(ips),
    agents: [{ name: 'a', online: true, jobs: ['j'] }],
    summaries: new Map([['a', summary]]),
    ...over,
  });

  it('answers from the summary, with the age of its computation', () => {
    expect(summary.unlisted_max_rtt_ms).toBe(2);
    const answer = summaryVerdict(view(), { ...DEFAULT_LIMITS, max_rtt_ms: 20 }, NOW);
    expect(answer).toEqual({
      verdict: {
        ok: false,
        checked: 3,
        failing: [
          { agent: 'a', ip: '10.0.0.2', reason: 'loss', loss: 0.3, rtt_ms: 9, age_s: 5 },
          { agent: 'a', ip: '10.0.0.3', reason: 'rtt', loss: 0, rtt_ms: 40, age_s: 5 },
        ],
      },
    });
  });

  it('declines what it cannot answer exactly', () => {
    const limits = DEFAULT_LIMITS;
    expect(summaryVerdict(view(), { ...limits, max_rtt_ms: 1 }, NOW).declined).toMatch(/max_rtt_ms/);
    expect(summaryVerdict(view(), { ...limits, max_age_s: 4 }, NOW).declined).toMatch(/too old/);
    expect(summaryVerdict(view({ summaries: new Map() }), limits, NOW).declined).toMatch(/no summary/);
    const changed = membershipDigest([...ips, '10.0.0.4']);
    expect(summaryVerdict(view({ memberCount: 4, digest: changed }), limits, NOW).declined).toMatch(
      /another membership/,
    );
    // A member added by hand: the stored digest no longer counts the members Redis holds.
    expect(summaryVerdict(view({ memberCount: 4 }), limits, NOW).declined).toMatch(/digest/);
    expect(summaryVerdict(view({ digest: null }), limits, NOW).declined).toMatch(/digest/);
  });

  it('answers an offline agent from its heartbeat alone', () => {
    const answer = summaryVerdict(
      view({ agents: [{ name: 'a', online: false, jobs: ['j'] }], summaries: new Map() }),
      DEFAULT_LIMITS,
      NOW,
    );
    expect(answer).toEqual({
      verdict: {
        ok: false,
        checked: 0,
        failing: [{ agent: 'a', ip: null, reason: 'offline', loss: null, rtt_ms: null, age_s: null }],
      },
    });
  });

  it('expects a decline from the agents with summaries, ignoring those probing other groups', () => {
    const limits = DEFAULT_LIMITS;
    const withOther = view({
      agents: [
        { name: 'a', online: true, jobs: ['j'] },
        { name: 'elsewhere', online: true, jobs: ['j'] },
      ],
    });
    // 'elsewhere' has no summary of the group: taken not to probe it, so the members are not read.
    expect(expectDecline(withOther, limits, NOW)).toBe(false);
    expect(summaryVerdict(view(), limits, NOW).declined).toBeUndefined();
    for (const declining of [
      { ...limits, max_rtt_ms: 1 },
      { ...limits, max_age_s: 4 },
    ]) {
      expect(summaryVerdict(view(), declining, NOW).declined).toBeDefined();
      expect(expectDecline(withOther, declining, NOW)).toBe(true);
    }
    expect(expectDecline(view({ digest: null }), limits, NOW)).toBe(true);
    // Nobody has a summary: agents that write none probe the group, most likely.
    expect(expectDecline(view({ summaries: new Map() }), limits, NOW)).toBe(true);
  });
});

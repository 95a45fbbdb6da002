import { spawn } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openProbeEngine } from '../../agent/icmp/engine.ts';
import { rttStats } from '../../agent/icmp/rtt-stats.ts';
import type { ProbeEngine, ProbeOptions } from '../../agent/icmp/types.ts';
import { createLab, type Lab } from './lab.ts';
import { describeLab } from './require-lab.ts';

// The engine against real packets: a lab namespace answers (or drops, delays, refuses, forges)
// and the engine in this process must count exactly what happened.

const quick: ProbeOptions = { count: 5, periodMs: 10, timeoutMs: 300, size: 56 };

describeLab('probe engine in the lab', () => {
  let lab: Lab;
  let engine: ProbeEngine;

  beforeAll(async () => {
    lab = await createLab({ targets: 100, ipv6: true, targets6: 3 });
    engine = await openProbeEngine({ ratePps: 20_000 });
  });
  afterAll(async () => {
    await engine?.close();
    await lab?.close();
  });

  it('gets every reply when nothing is lost, with the reply TTL, over IPv4 and IPv6', async () => {
    const results = await engine.probe([...lab.targets, ...lab.targets6], quick);
    for (const r of results) {
      expect(r).toMatchObject({ sent: 5, received: 5, late: 0, duplicates: 0, unreachable: null });
      expect(r.rttsMs).toHaveLength(5);
      expect(Math.max(...r.rttsMs)).toBeLessThan(100);
    }
    expect(results[0]!.ttl).toBe(64);
    expect(results.at(-1)!.ip).toBe(lab.targets6.at(-1));
  });

  it('measures 30% loss over 1000 probes within statistical bounds', async () => {
    await lab.setLoss('all', 30);
    try {
      const results = await engine.probe(lab.targets, { count: 10, periodMs: 5, timeoutMs: 200, size: 56 });
      const sent = results.reduce((s, r) => s + r.sent, 0);
      const received = results.reduce((s, r) => s + r.received, 0);
      expect(sent).toBe(1000);
      // Binomial sd for n=1000, p=0.3 is 1.45 points: 5 points is more than 3 sd.
      expect((sent - received) / sent).toBeGreaterThan(0.25);
      expect((sent - received) / sent).toBeLessThan(0.35);
      expect(results.every((r) => r.late === 0 && r.duplicates === 0)).toBe(true);
      // The RTT lists are reserved for the whole count and cut to what came back.
      for (const r of results) expect(r.rttsMs).toHaveLength(r.received);
    } finally {
      await lab.clearLoss();
    }
  });

  it('measures a 20 ms responder delay within 1 ms', async () => {
    await lab.setDelay(20);
    try {
      // The first replies of a fresh responder process pay for its warm-up; measure after it.
      await engine.probe([lab.targets[0]!], { ...quick, count: 5 });
      const [v4, v6] = await engine.probe([lab.targets[0]!, lab.targets6[0]!], {
        ...quick,
        count: 20,
        periodMs: 25,
      });
      for (const r of [v4!, v6!]) {
        expect(r.received).toBe(20);
        expect(Math.abs(rttStats(r.rttsMs)!.p50 - 20)).toBeLessThan(1);
      }
    } finally {
      await lab.stopResponder();
    }
  });

  it('reports an unreachable target as unreachable, not as a timeout', async () => {
    const [ip4, ip6] = [lab.targets[99]!, lab.targets6[2]!];
    await lab.makeUnreachable(ip4);
    await lab.makeUnreachable(ip6);
    const started = performance.now();
    const [r4, r6] = await engine.probe([ip4, ip6], { count: 3, periodMs: 10, timeoutMs: 5000, size: 56 });
    // Errors settle the probes: no waiting for the 5 s timeout.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(r4).toMatchObject({ sent: 3, received: 0, unreachable: { count: 3, code: 1, from: ip4 } });
    expect(r6).toMatchObject({ sent: 3, received: 0, unreachable: { count: 3, code: 3 } });
  });

  it('is not disturbed by another pinger probing the same targets at the same time', async () => {
    const targets = lab.targets.slice(0, 20);
    // The system pinger here is fping (iputils ping is not installed): its echo replies reach our
    // raw socket too and must not be counted as ours.
    const other = spawn('fping', ['-q', '-c', '40', '-p', '10', ...targets], { stdio: 'ignore' });
    let otherFailed: Error | null = null;
    other.on('error', (error) => {
      otherFailed = error;
    });
    try {
      const results = await engine.probe(targets, { count: 20, periodMs: 10, timeoutMs: 300, size: 56 });
      for (const r of results) expect(r).toMatchObject({ sent: 20, received: 20, late: 0, duplicates: 0 });
      expect(otherFailed).toBeNull();
    } finally {
      other.kill();
    }
  });

  it('does not count forged replies (wrong tag, source, checksum or send time) as received', async () => {
    for (const forge of ['tag', 'source', 'checksum', 'stamp'] as const) {
      await lab.setResponder({ forge });
      const targets = forge === 'checksum' ? [lab.targets[0]!] : [lab.targets[0]!, lab.targets6[0]!];
      const results = await engine.probe(targets, { ...quick, timeoutMs: 150 });
      for (const r of results) expect(r, `${forge} ${r.ip}`).toMatchObject({ sent: 5, received: 0, late: 0 });
      // Unanswered targets each get their own empty list, not one shared array.
      expect(results.map((r) => r.rttsMs)).toEqual(results.map(() => []));
      if (results.length > 1) expect(results[0]!.rttsMs).not.toBe(results[1]!.rttsMs);
    }
    await lab.stopResponder();
  });

  it('keeps an address 100% lost while a probed host forges replies for it', async () => {
    // The forger sees only the probes sent to it: those to the spare addresses never reach it.
    const dead = [lab.spareAddress, lab.spareAddress6];
    await lab.setLoss(dead[0]!, 100);
    await lab.setLoss(dead[1]!, 100);
    await lab.setResponder({ forge: 'guess' });
    try {
      // Interleaved, so each dead address's probes sit next to a live one's in sequence and time.
      const order = [lab.targets[0]!, dead[0]!, lab.targets6[0]!, dead[1]!];
      const results = await engine.probe(order, { count: 10, periodMs: 10, timeoutMs: 300, size: 56 });
      const [live4, dead4, live6, dead6] = results;
      for (const r of [live4!, live6!])
        expect(r, r.ip).toMatchObject({ sent: 10, received: 10, duplicates: 0 });
      for (const r of [dead4!, dead6!]) {
        expect(r, r.ip).toMatchObject({ sent: 10, received: 0, late: 0, duplicates: 0 });
      }
    } finally {
      await lab.stopResponder();
      await lab.clearLoss();
    }
  });

  it('counts duplicate replies as duplicates, not as received', async () => {
    await lab.setResponder({ duplicate: true });
    try {
      await engine.probe([lab.targets[0]!], quick);
      const [r] = await engine.probe([lab.targets[0]!], { ...quick, count: 10 });
      expect(r).toMatchObject({ sent: 10, received: 10 });
      // The last probe's duplicate may arrive after the call has returned.
      expect(r!.duplicates).toBeGreaterThanOrEqual(9);
    } finally {
      await lab.stopResponder();
    }
  });

  it('counts a reply that comes after its timeout as late, not received', async () => {
    await lab.setDelay(60);
    try {
      await engine.probe([lab.targets[0]!], quick);
      const [r] = await engine.probe([lab.targets[0]!], { count: 3, periodMs: 100, timeoutMs: 30, size: 56 });
      expect(r).toMatchObject({ sent: 3, received: 0 });
      expect(r!.late).toBeGreaterThanOrEqual(2);
    } finally {
      await lab.stopResponder();
    }
  });

  it('paces sends by the rate budget', async () => {
    const slow = await openProbeEngine({ ratePps: 500 });
    try {
      const started = performance.now();
      const results = await slow.probe(lab.targets.slice(0, 99), {
        count: 1,
        periodMs: 0,
        timeoutMs: 500,
        size: 56,
      });
      // A 16-packet burst, then 500 a second: the other 83 cannot leave in under 166 ms.
      expect(performance.now() - started).toBeGreaterThan(150);
      expect(results.every((r) => r.received === 1)).toBe(true);
    } finally {
      await slow.close();
    }
  });

  it('keeps every RTT sample when a target gets more probes than the list reserves at first', async () => {
    const [r] = await engine.probe([lab.targets[1]!], { count: 300, periodMs: 0, timeoutMs: 300, size: 56 });
    expect(r).toMatchObject({ sent: 300, received: 300 });
    expect(r!.rttsMs).toHaveLength(300);
    expect(r!.rttsMs.every((x) => Number.isFinite(x) && x >= 0 && x < 100)).toBe(true);
  });

  it('keeps nothing of a finished call alive (a long-running agent would hold old results)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const probeOnce = async () => new WeakRef(await engine.probe(lab.targets.slice(0, 10), quick));
    const gone = await probeOnce();
    // Let the call's promise and timers unwind before collecting.
    await new Promise((resolve) => setTimeout(resolve, 20));
    gc();
    expect(gone.deref()).toBeUndefined();
  });

  it('runs concurrent calls with different timeouts and sizes on one engine', async () => {
    // targets[99] answers unreachable since an earlier test.
    const [a, b] = await Promise.all([
      engine.probe(lab.targets.slice(0, 50), { count: 3, periodMs: 5, timeoutMs: 200, size: 16 }),
      engine.probe(lab.targets.slice(50, 99), { count: 3, periodMs: 7, timeoutMs: 900, size: 1200, ttl: 5 }),
    ]);
    for (const r of [...a, ...b]) expect(r).toMatchObject({ sent: 3, received: 3 });
  });
});

describeLab('probe engine through a router', () => {
  let lab: Lab;
  let engine: ProbeEngine;

  beforeAll(async () => {
    lab = await createLab({ targets: 2, ipv6: true, targets6: 1, router: true });
    engine = await openProbeEngine({ ratePps: 1000 });
  });
  afterAll(async () => {
    await engine?.close();
    await lab?.close();
  });

  it('reports TTL exceeded from the router for TTL 1, and replies for TTL 2', async () => {
    const targets = [lab.targets[0]!, lab.targets6[0]!];
    const short = await engine.probe(targets, { count: 2, periodMs: 10, timeoutMs: 3000, size: 56, ttl: 1 });
    expect(short[0]).toMatchObject({
      sent: 2,
      received: 0,
      unreachable: null,
      ttlExceeded: { count: 2, code: 0, from: lab.routerAddress!.v4 },
    });
    expect(short[1]).toMatchObject({ sent: 2, received: 0, ttlExceeded: { count: 2, code: 0 } });
    const enough = await engine.probe(targets, { count: 2, periodMs: 10, timeoutMs: 1000, size: 56, ttl: 2 });
    for (const r of enough) expect(r).toMatchObject({ sent: 2, received: 2, ttlExceeded: null });
    // The kernel default TTL is back for calls without one: the reply left the target with 64.
    const [plain] = await engine.probe([lab.targets[1]!], {
      count: 1,
      periodMs: 0,
      timeoutMs: 1000,
      size: 56,
    });
    expect(plain).toMatchObject({ received: 1, ttl: 63 });
  });
});

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { openProbeEngine } from '../../agent/icmp/engine.ts';
import { createLab } from './lab.ts';
import { cleanupStaleLabs, SLOT_ROOT, takeSlot } from './lab-slots.ts';
import { describeLab } from './require-lab.ts';

// The lab itself: parallel labs stay apart, close() leaves nothing, and a killed run's leftovers
// are found and removed.

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

describeLab('network lab', () => {
  it('gives parallel labs their own slots and subnets, and close() removes everything', async () => {
    const [a, b] = await Promise.all([createLab({ targets: 2 }), createLab({ targets: 2, ipv6: true })]);
    const engine = await openProbeEngine({ ratePps: 1000 });
    try {
      expect(a.slot).not.toBe(b.slot);
      expect(a.targets[0]).toBe(`198.18.${a.slot}.128`);
      const results = await engine.probe([...a.targets, ...b.targets, ...b.targets6], {
        count: 2,
        periodMs: 10,
        timeoutMs: 500,
        size: 56,
      });
      expect(results.map((r) => r.received)).toEqual([2, 2, 2, 2, 2, 2]);
      // Loss set in one lab does not leak into the other.
      await a.setLoss('all', 100);
      const [lostA, keptB] = await engine.probe([a.targets[0]!, b.targets[0]!], {
        count: 2,
        periodMs: 10,
        timeoutMs: 200,
        size: 56,
      });
      expect([lostA!.received, keptB!.received]).toEqual([0, 2]);
    } finally {
      await engine.close();
      await a.close();
      await b.close();
    }
    expect(namespaces()).not.toContain(a.netns);
    expect(namespaces()).not.toContain(b.netns);
    expect(existsSync(join(SLOT_ROOT, `slot-${a.slot}`))).toBe(false);
  });

  it('removes the lab when its process is ended by a signal, then dies of that signal', async () => {
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(new URL('../../bin/run-ts.js', import.meta.url)),
        fileURLToPath(new URL('./hold-lab.fixture.ts', import.meta.url)),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_code, signal) => resolve(signal)),
    );
    const netns = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.trim());
      });
      child.on('close', () => reject(new Error(`the lab process ended early: ${out}`)));
    });
    expect(namespaces()).toContain(netns);
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(namespaces()).not.toContain(netns);
  });

  it('cleans up the slot and namespace of a run that was killed', () => {
    const dead = spawnSync('true').pid!;
    const netns = `pa-lab-x-${dead}-stale`;
    const slot = takeSlot(false, () => netns);
    writeFileSync(join(SLOT_ROOT, `slot-${slot}`, 'owner.json'), JSON.stringify({ pid: dead, netns }));
    execFileSync('ip', ['netns', 'add', netns]);
    cleanupStaleLabs();
    expect(namespaces()).not.toContain(netns);
    expect(existsSync(join(SLOT_ROOT, `slot-${slot}`))).toBe(false);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Labs from parallel test files and parallel test runs share the root namespace, so each takes a
// slot, an atomic mkdir under /run, and only uses that slot's subnets. A slot records its owner's
// pid and namespace, so a later run can clean up after a run that was killed.

export const SLOT_ROOT = '/run/ping-agent-lab';
/** Slot 0 is the benchmark's (198.19.0.0/16); tests use 1..250 (198.18.N.0/24). */
export const BENCH_SLOT = 0;
const FIRST = 1;
const LAST = 250;

export interface SlotOwner {
  pid: number;
  netns: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(dir: string): SlotOwner | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as SlotOwner;
  } catch {
    return null;
  }
}

/** Deletes a namespace if it exists (its veth pair and the routes through it go with it). */
export function deleteNetns(netns: string): void {
  try {
    execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
  } catch {
    // Already gone.
  }
}

/** A slot is stale when its owner died, or it has had no owner file for over 30 s. */
function releaseIfStale(dir: string): boolean {
  const owner = readOwner(dir);
  if (owner) {
    if (alive(owner.pid)) return false;
    deleteNetns(owner.netns);
    deleteNetns(`${owner.netns}-r`);
  } else {
    try {
      if (Date.now() - statSync(dir).mtimeMs < 30_000) return false;
    } catch {
      return true;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/** Removes what killed runs left behind: their slots and namespaces. */
export function cleanupStaleLabs(): void {
  mkdirSync(SLOT_ROOT, { recursive: true });
  for (const name of readdirSync(SLOT_ROOT)) {
    if (name.startsWith('slot-')) releaseIfStale(join(SLOT_ROOT, name));
  }
  let namespaces = '';
  try {
    namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of namespaces.split('\n')) {
    const match = /^(pa-lab-\d+-(\d+)-\S+)/.exec(line);
    if (match && !alive(Number(match[2]))) deleteNetns(match[1]!);
  }
}

/** Takes a free slot (the bench slot when `bench`), recording `netns` as its owner's namespace. */
export function takeSlot(bench: boolean, netnsFor: (slot: number) => string): number {
  mkdirSync(SLOT_ROOT, { recursive: true });
  const candidates = bench ? [BENCH_SLOT] : shuffled(FIRST, LAST);
  for (const slot of candidates) {
    const dir = join(SLOT_ROOT, `slot-${slot}`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        mkdirSync(dir);
      } catch {
        if (attempt === 0 && releaseIfStale(dir)) continue;
        break;
      }
      writeFileSync(join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, netns: netnsFor(slot) }));
      return slot;
    }
  }
  throw new Error(
    bench
      ? `the benchmark's lab slot is taken (${SLOT_ROOT}/slot-0): is another benchmark running?`
      : `no free lab slot in ${SLOT_ROOT}`,
  );
}

export function releaseSlot(slot: number): void {
  rmSync(join(SLOT_ROOT, `slot-${slot}`), { recursive: true, force: true });
}

function shuffled(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

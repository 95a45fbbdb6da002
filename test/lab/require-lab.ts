import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';

// Lab tests need root, iproute2, nft and fping. Locally without them they skip; in CI (CI=true) they must
// run, so there a missing requirement fails the file instead of hiding the tests.

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'root (raw sockets and network namespaces)';
  // fping plays the other pinger that must not disturb our counts.
  for (const tool of ['ip', 'nft', 'fping']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `the ${tool} command`;
    }
  }
  return null;
}

export const labMissing = missing();

if (labMissing && process.env.CI === 'true') {
  throw new Error(`the network lab tests need ${labMissing}, and in CI they must run, not skip`);
}

/** describe() for tests that use the lab: skipped locally when it cannot run, never in CI. */
export const describeLab: typeof describe.skip = labMissing ? describe.skip : describe;

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

// What `wrangler deploy` would upload must build: bundling catches a Node-only import reaching the
// Worker (shared/ must stay platform-neutral) long before a deploy does.

const outdir = mkdtempSync(join(tmpdir(), 'ping-agent-worker-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

it('builds the Worker with wrangler deploy --dry-run', async () => {
  const { stdout, stderr } = await promisify(execFile)(
    'node_modules/.bin/wrangler',
    ['deploy', '--dry-run', '--outdir', outdir],
    { env: { ...process.env, WRANGLER_SEND_METRICS: 'false' }, timeout: 90_000 },
  );
  expect(`${stdout}${stderr}`).toContain('--dry-run: exiting now');
  // Workers refuse scripts over 10 MB (3 MB on the free plan, compressed); stay far below.
  expect(statSync(join(outdir, 'index.js')).size).toBeLessThan(3 * 1024 * 1024);
}, 120_000);

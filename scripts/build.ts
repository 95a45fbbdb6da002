import { chmod, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { devNeedsCheckout } from './dev-needs-checkout.ts';

// `npm run build`: the `ping-agent` command as plain JavaScript in dist/, so an installed agent
// starts on bare Node with no compiler. Each subcommand stays its own chunk (loaded only when
// called, as in the sources), so `ping-agent check` never parses the probe engine. The
// raw-socket addon stays outside the bundle: it is a compiled .node file that npm builds on the
// installing machine. Everything else (hono, zod, @upstash/redis, croner) is inside.

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = fileURLToPath(new URL('../dist', import.meta.url));

/**
 * The entry as the shipped command runs it; esbuild keeps the hashbang at the top of the output.
 * Its V8 flags hold peak memory down without the user knowing them (bench/RESULTS-probe.md): at
 * 60,000 targets `probe` peaks at about 110 MB with V8's defaults, because the young generation
 * grows to 16 MB semi-spaces for garbage that dies at once, and one helper thread per core keeps
 * its own malloc arena. `env -S` (GNU coreutils 8.30 or later) splits the flags from `node`.
 * They win over the same flags in NODE_OPTIONS; `node [flags] dist/ping-agent.js` runs without them.
 */
const ENTRY = `#!/usr/bin/env -S node --max-semi-space-size=2 --v8-pool-size=1
import { main } from './agent/cli/main.ts';
process.exitCode = await main(process.argv.slice(2));
`;

await rm(outdir, { recursive: true, force: true });
await build({
  stdin: { contents: ENTRY, resolveDir: root, sourcefile: 'ping-agent.ts', loader: 'ts' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  entryNames: 'ping-agent',
  chunkNames: 'chunks/[name]-[hash]',
  external: ['raw-socket'],
  plugins: [devNeedsCheckout],
  legalComments: 'linked',
  logLevel: 'warning',
});
await chmod(`${outdir}/ping-agent.js`, 0o755);

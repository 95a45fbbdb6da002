import { chmod, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// `npm run build`: the `ping-agent` command as plain JavaScript in dist/, so an installed agent
// starts on bare Node with no compiler. Each subcommand stays its own chunk (loaded only when
// called, as in the sources), so `ping-agent check` never parses the probe engine. The
// raw-socket addon stays outside the bundle: it is a compiled .node file that npm builds on the
// installing machine. Everything else (hono, zod, @upstash/redis, pino, croner) is inside.

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = fileURLToPath(new URL('../dist', import.meta.url));

/** The entry as the shipped command runs it; the hashbang is kept at the top of the output. */
const ENTRY = `#!/usr/bin/env node
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
  // Bundled CommonJS dependencies (pino) call require() for Node's built-ins; an ES module has
  // no require, so give them one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  legalComments: 'linked',
  logLevel: 'warning',
});
await chmod(`${outdir}/ping-agent.js`, 0o755);

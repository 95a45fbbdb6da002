import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { devNeedsCheckout } from './dev-needs-checkout.ts';

// `npm run build:binary`: release/ping-agent-linux-x64, one executable holding this Node runtime,
// the whole command as one CommonJS bundle and the compiled raw-socket addon, for hosts with no
// Node and no compiler. It is a Node single executable application (SEA): the bundle and the addon
// go into a blob (`node --experimental-sea-config`) that postject writes into a copy of the node
// binary. The addon cannot be loaded from memory: at the first raw socket, the binary writes it
// to a private cache directory and loads it from there (scripts/sea-addon.cjs). With `-- --arch
// arm64` on x64 it builds release/ping-agent-linux-arm64 from the registry's arm64 runtime and a
// cross-compiled addon instead (scripts/cross-target.ts).

const root = fileURLToPath(new URL('..', import.meta.url));
const work = join(root, 'release', '.work');
// `npm run build:binary -- --arch arm64`: another CPU's binary, cross-built (scripts/cross-target.ts).
const archArg = process.argv.indexOf('--arch');
const target = archArg > 0 ? process.argv[archArg + 1]! : arch();
const output = join(root, 'release', `ping-agent-${platform()}-${target}`);
// The fuse every SEA-capable node binary carries (Node's documentation, "Single executable applications").
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const ENTRY = `import { main } from './agent/cli/main.ts';
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
`;

/**
 * The sources load raw-socket lazily through createRequire(import.meta.url), which has nothing to
 * resolve from inside a binary; here it becomes a plain require of the bundled raw-socket, whose own
 * require of build/Release/raw.node becomes the embedded addon. The replaced text must be found, so
 * a change in icmp-socket.ts fails this build instead of a binary that cannot probe.
 */
const embeddedAddon: Plugin = {
  name: 'embedded-raw-socket',
  setup(b) {
    const lazyRequire = "createRequire(import.meta.url)('raw-socket')";
    b.onLoad({ filter: /agent[\\/]icmp[\\/]icmp-socket\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(lazyRequire)) {
        throw new Error(`${args.path} no longer contains ${lazyRequire}; update scripts/build-binary.ts`);
      }
      return { contents: source.replace(lazyRequire, "require('raw-socket')"), loader: 'ts' };
    });
    b.onResolve({ filter: /\.node$/ }, () => ({ path: join(root, 'scripts/sea-addon.cjs') }));
  },
};

function sh(file: string, args: string[]): void {
  execFileSync(file, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
let runtime = process.execPath;
let addon = join(root, 'node_modules/raw-socket/build/Release/raw.node');
if (target !== arch()) {
  const { addonFor, runtimeFor } = await import('./cross-target.ts');
  runtime = runtimeFor(target, join(root, 'release', '.cache'));
  addon = addonFor(target, root, work);
}
if (!readFileSync(runtime).includes(FUSE)) {
  throw new Error(`${runtime} was built without single executable support (no ${FUSE})`);
}
const bundle = join(work, 'ping-agent.cjs');
await build({
  stdin: { contents: ENTRY, resolveDir: root, sourcefile: 'ping-agent-binary.ts', loader: 'ts' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: bundle,
  plugins: [embeddedAddon, devNeedsCheckout],
  // import.meta is empty in CommonJS: a use the plugins above do not replace would break at run time.
  logOverride: { 'empty-import-meta': 'error' },
  logLevel: 'warning',
});

const blob = join(work, 'sea-prep.blob');
const config = join(work, 'sea-config.json');
writeFileSync(
  config,
  JSON.stringify({
    main: bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: false,
    assets: { 'raw.node': addon },
  }),
);
sh(process.execPath, ['--experimental-sea-config', config]);
copyFileSync(runtime, output);
chmodSync(output, 0o755);
sh(process.execPath, [
  join(root, 'node_modules/postject/dist/cli.js'),
  output,
  'NODE_SEA_BLOB',
  blob,
  '--sentinel-fuse',
  FUSE,
]);
rmSync(work, { recursive: true, force: true });
process.stdout.write(`${output} (${(statSync(output).size / 1048576).toFixed(1)} MB)\n`);

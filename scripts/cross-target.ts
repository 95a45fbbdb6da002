import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

// What scripts/build-binary.ts needs to build for another CPU than this machine's (linux arm64 on
// x64): that CPU's Node runtime, of this Node's exact version (the SEA blob is made by this node),
// from the npm registry's node-linux-<arch> package; and raw-socket compiled for it with Debian's
// cross compiler (g++-aarch64-linux-gnu).

const TRIPLETS: Record<string, string> = { arm64: 'aarch64-linux-gnu' };

function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): void {
  execFileSync(file, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

/** The node executable of `arch`, same version as this one, unpacked under `cache`. */
export function runtimeFor(arch: string, cache: string): string {
  const pkg = `node-linux-${arch}@${process.versions.node}`;
  const dir = join(cache, `node-linux-${arch}-${process.versions.node}`);
  const node = join(dir, 'package', 'bin', 'node');
  if (existsSync(node)) return node;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  run('npm', ['pack', pkg, '--silent'], { cwd: dir });
  run('sh', ['-c', 'tar xzf node-linux-*.tgz && rm node-linux-*.tgz'], { cwd: dir });
  if (!existsSync(node)) throw new Error(`${pkg} has no package/bin/node`);
  return node;
}

/** raw-socket's addon compiled for `arch` in `work` (a copy, so the installed build stays). */
export function addonFor(arch: string, root: string, work: string): string {
  const triplet = TRIPLETS[arch];
  if (!triplet) throw new Error(`no cross compiler known for ${arch}; known: ${Object.keys(TRIPLETS)}`);
  const compiler = `${triplet}-g++`;
  try {
    execFileSync('sh', ['-c', `command -v ${compiler}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${compiler} is missing: apt-get install g++-${triplet}`);
  }
  const modules = join(work, `addon-${arch}`, 'node_modules');
  const source = join(modules, 'raw-socket');
  mkdirSync(modules, { recursive: true });
  cpSync(join(root, 'node_modules/raw-socket'), source, {
    recursive: true,
    filter: (path) => !path.includes('/build'),
  });
  // binding.gyp finds nan's headers with require('nan') from the addon's own directory.
  symlinkSync(join(root, 'node_modules/nan'), join(modules, 'nan'));
  const gyp = join(process.execPath, '../../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  // Node's headers are the same for every CPU: this node's, where they are installed beside it.
  const headers = join(process.execPath, '../..');
  const nodedir = existsSync(join(headers, 'include/node/node.h')) ? [`--nodedir=${headers}`] : [];
  run(process.execPath, [gyp, 'rebuild', `--arch=${arch}`, ...nodedir], {
    cwd: source,
    env: {
      ...process.env,
      CC: `${triplet}-gcc`,
      CXX: compiler,
      LINK: compiler,
      AR: `${triplet}-ar`,
    },
  });
  return join(source, 'build/Release/raw.node');
}

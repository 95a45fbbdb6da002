// Inside release/ping-agent-<os>-<arch> only (scripts/build-binary.ts puts it where raw-socket
// requires build/Release/raw.node): the addon is an asset of the executable, and the dynamic loader
// needs a file. It is written once per addon version to a directory only this user can write
// ($XDG_CACHE_HOME/ping-agent, else ~/.cache/ping-agent; under the systemd unit that is the
// state directory), checked against the embedded bytes before every load, and loaded from there.
// Where no such directory can be had, a fresh private directory under the system's temp dir is used.

const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { getAsset } = require('node:sea');

const bytes = Buffer.from(getAsset('raw.node'));
const digest = createHash('sha256').update(bytes).digest('hex');

function cacheDir() {
  const home = os.homedir();
  const base = process.env.XDG_CACHE_HOME || (home ? path.join(home, '.cache') : '');
  if (!base) return null;
  const dir = path.join(base, 'ping-agent');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = fs.statSync(dir);
    // Another user's directory, or one others may write to, could hand us their code to load.
    if (stat.uid !== process.getuid() || (stat.mode & 0o022) !== 0) return null;
    return dir;
  } catch {
    return null;
  }
}

function sameBytes(file) {
  try {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex') === digest;
  } catch {
    return false;
  }
}

function addonFile() {
  const dir = cacheDir();
  if (dir) {
    const file = path.join(dir, `raw-socket-${digest.slice(0, 16)}.node`);
    if (sameBytes(file)) return file;
    try {
      const partial = `${file}.${process.pid}`;
      fs.writeFileSync(partial, bytes, { mode: 0o700 });
      fs.renameSync(partial, file);
      return file;
    } catch {
      // A read-only home: fall through to the temp dir.
    }
  }
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'ping-agent-'));
  const file = path.join(fresh, 'raw-socket.node');
  fs.writeFileSync(file, bytes, { mode: 0o700 });
  return file;
}

const addon = { exports: {} };
process.dlopen(addon, addonFile());
module.exports = addon.exports;

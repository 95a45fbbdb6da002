import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cleanupStaleLabs, deleteNetns, releaseSlot, takeSlot } from './lab-slots.ts';

// The network lab: real packets across a real (virtual) network, for tests and benchmarks.
//
//   const lab = await createLab({ targets: 3, ipv6: true });
//   lab.targets     IPv4 target addresses  (198.18.N.128 + i; the bench: 198.19.0.0/16)
//   lab.targets6    IPv6 target addresses  (fd00:1ab:N:1::1 + i), [] without `ipv6`
//   await lab.setLoss(ip | 'all', pct)     drop pct% of echo requests (nftables numgen)
//   await lab.setLossForSize(bytes, pct)   the same for one payload size only (one agent's probes)
//   await lab.clearLoss()
//   await lab.makeUnreachable(ip)          answer echo requests with host/address-unreachable
//   await lab.setResponder({ delayMs, forge, duplicate })  our own echo responder instead of the
//                                          kernel's: exact delay, forged or duplicated replies
//   await lab.setDelay(ms)                 shorthand for setResponder({ delayMs: ms })
//   await lab.stopResponder()              back to the kernel's replies
//   createLab({ router: true })            targets two hops away behind a router namespace, for
//                                          TTL-exceeded answers (lab.routerAddress)
//   lab.exec(cmd, args)                    run a command inside the target namespace
//   await lab.close()                      remove everything (also done at process exit)
//
// Topology: the root namespace (where the code under test runs) reaches one target namespace
// through a veth pair; inside it a local route makes every address of the target range answer.
// Each lab takes a slot (see lab-slots.ts) so parallel labs never share a subnet or a route:
// slot N is 198.18.N.0/24 and fd00:1ab:N::/48; the benchmark's slot 0 uses 198.19.0.0/16.
// Needs root, iproute2 and nft (see require-lab.ts). No tc/netem: loss is nftables, delay is ours.

const run = promisify(execFile);
const RESPONDER = fileURLToPath(new URL('./echo-responder.ts', import.meta.url));
const RUN_TS = fileURLToPath(new URL('../../bin/run-ts.js', import.meta.url));

export interface LabOptions {
  /** How many IPv4 targets (at most 127; with `bench`, up to 65,000). */
  targets?: number;
  /** Also give the namespace IPv6 targets, as many as `targets6` (default: same as targets). */
  ipv6?: boolean;
  targets6?: number;
  /** Take the benchmark slot and its 198.19.0.0/16 range (one benchmark at a time). */
  bench?: boolean;
  /**
   * Put a router namespace between the root namespace and the targets, so the targets are two
   * hops away: probes with TTL 1 come back as time-exceeded from `routerAddress`.
   */
  router?: boolean;
}

export interface ResponderOptions {
  delayMs?: number;
  /**
   * tag: the payload's tag altered; source: reply from another address; checksum: broken ICMP
   * checksum; stamp: the send timestamp altered, as in an older probe's reply with the same
   * sequence; guess: honest replies, plus replies from `spareAddress`/`spareAddress6` guessed from
   * each probe seen (its payload replayed, neighbouring sequences and send times), as a probed
   * host would send to make another address look alive.
   */
  forge?: 'tag' | 'source' | 'checksum' | 'stamp' | 'guess';
  /** Send every reply twice. */
  duplicate?: boolean;
}

export interface Lab {
  readonly netns: string;
  readonly slot: number;
  readonly targets: string[];
  readonly targets6: string[];
  /** An address in the lab's range that is not a target, used by forged-source and guessed replies. */
  readonly spareAddress: string;
  readonly spareAddress6: string;
  /** The router's addresses facing us, null without `router`. */
  readonly routerAddress: { v4: string; v6: string } | null;
  setLoss(ip: string | 'all', percent: number): Promise<void>;
  /**
   * Drops a share of the echo requests with this payload size to every target: one agent's probes
   * (give its job that size), as a lossy link at that agent's own site would. Cleared by clearLoss.
   */
  setLossForSize(payloadBytes: number, percent: number): Promise<void>;
  clearLoss(): Promise<void>;
  makeUnreachable(ip: string): Promise<void>;
  setResponder(options: ResponderOptions): Promise<void>;
  setDelay(ms: number): Promise<void>;
  stopResponder(): Promise<void>;
  exec(command: string, args: string[]): Promise<string>;
  close(): Promise<void>;
}

const open = new Set<() => void>();
const closeAll = () => {
  for (const close of open) close();
};
process.once('exit', closeAll);

// Ctrl-C on a benchmark, or a runner killing its worker, ends the process without 'exit'
// handlers: the namespace, its routes and the slot would stay until the next lab found them.
// While a lab is open, such a signal cleans up first and then ends the process as it would have.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let watchingSignals = false;
function onSignal(signal: NodeJS.Signals): void {
  closeAll();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  watchingSignals = false;
  // With other listeners the signal was theirs to handle (Node does not end the process then);
  // alone, re-raise it so the default action ends the process as if we had not listened.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
function watchSignals(): void {
  if (watchingSignals) return;
  watchingSignals = true;
  for (const s of SIGNALS) process.on(s, onSignal);
}

async function ip(args: string[], input?: string): Promise<void> {
  if (input === undefined) {
    await run('ip', args);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ip ${args.join(' ')}: ${err.trim()}`)),
    );
    child.stdin.end(input);
  });
}

function v4Targets(slot: number, bench: boolean, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    if (bench) out.push(`198.19.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}`);
    else out.push(`198.18.${slot}.${128 + i}`);
  }
  return out;
}

export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const bench = options.bench ?? false;
  const count = options.targets ?? 1;
  const count6 = options.ipv6 ? (options.targets6 ?? count) : 0;
  const limit = bench ? 65_000 : 127;
  if (count < 1 || count > limit) throw new Error(`createLab: targets must be 1..${limit}, not ${count}`);
  cleanupStaleLabs();
  const netnsFor = (slot: number) =>
    `pa-lab-${slot}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  let netns = '';
  const slot = takeSlot(bench, (s) => {
    netns = netnsFor(s);
    return netns;
  });
  const rootIf = `palab${slot}r`;
  const labIf = `palab${slot}t`;
  const upIf = `palab${slot}u`;
  const downIf = `palab${slot}d`;
  const router = options.router ?? false;
  const routerNs = `${netns}-r`;
  const hex = slot.toString(16);
  const range4 = bench ? '198.19.0.0/16' : `198.18.${slot}.128/25`;
  const range6 = `fd00:1ab:${hex}:1::/64`;
  const targets = v4Targets(slot, bench, count);
  const targets6 = Array.from({ length: count6 }, (_, i) => `fd00:1ab:${hex}:1::${(i + 1).toString(16)}`);
  const spareAddress = bench ? '198.19.255.254' : `198.18.${slot}.254`;
  const spareAddress6 = `fd00:1ab:${hex}:1::ffff`;

  let responder: ChildProcess | null = null;
  let closed = false;
  const closeSync = () => {
    if (closed) return;
    closed = true;
    responder?.kill('SIGKILL');
    deleteNetns(netns);
    if (router) deleteNetns(routerNs);
    // A root-side veth left by a half-built lab (the namespace end normally takes it along).
    try {
      execFileSync('ip', ['link', 'del', rootIf], { stdio: 'ignore' });
    } catch {
      // Gone with the namespace.
    }
    releaseSlot(slot);
  };
  open.add(closeSync);
  watchSignals();

  const nsExec = async (command: string, args: string[]) =>
    (await run('ip', ['netns', 'exec', netns, command, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  const sysctl = (settings: string[]) => nsExec('sysctl', ['-q', '-e', '-w', ...settings]);
  let nftReady = false;
  const nft = async (script: string) => {
    if (!nftReady) {
      nftReady = true;
      await nft(
        'table inet lab {\n' +
          ' chain loss { type filter hook input priority 0; policy accept; }\n' +
          ' chain refuse { type filter hook input priority 10; policy accept; }\n' +
          '}\n',
      );
    }
    await new Promise<void>((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft: ${err.trim()}`))));
      child.stdin.end(script);
    });
  };

  try {
    await ip(['netns', 'add', netns]);
    if (router) await ip(['netns', 'add', routerNs]);
    // No duplicate address detection anywhere in the lab: until it finishes (about 2 s) a router
    // does not forward IPv6. Interfaces moved into a namespace take its defaults.
    const noDad = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];
    for (const ns of router ? [netns, routerNs] : [netns]) {
      await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-e', '-w', ...noDad]);
    }
    // Without a router the root side's veth peer is the target namespace's; with one, the peer
    // sits in the router namespace, which forwards to the target namespace over a second pair.
    const first = router ? routerNs : netns;
    await ip(['link', 'add', rootIf, 'type', 'veth', 'peer', 'name', router ? upIf : labIf, 'netns', first]);
    await run('sysctl', ['-q', '-w', `net.ipv6.conf.${rootIf}.accept_dad=0`]);
    const root = [`addr add 198.18.${slot}.1/30 dev ${rootIf}`, `link set ${rootIf} up`];
    if (count6 > 0) root.push(`addr add fd00:1ab:${hex}::1/64 dev ${rootIf} nodad`);
    await ip(['-batch', '-'], `${root.join('\n')}\n`);
    // The target's side of its link: 198.18.N.2 (or .6 behind the router), fd00:1ab:N::2 (:2::2).
    const [gw4, own4, gw6, own6] = router
      ? [`198.18.${slot}.5`, `198.18.${slot}.6`, `fd00:1ab:${hex}:2::1`, `fd00:1ab:${hex}:2::2`]
      : [`198.18.${slot}.1`, `198.18.${slot}.2`, `fd00:1ab:${hex}::1`, `fd00:1ab:${hex}::2`];
    if (router) {
      const hop = [
        'link set lo up',
        `link add ${downIf} type veth peer name ${labIf} netns ${netns}`,
        `addr add 198.18.${slot}.2/30 dev ${upIf}`,
        `addr add ${gw4}/30 dev ${downIf}`,
        `link set ${upIf} up`,
        `link set ${downIf} up`,
        `route add default via 198.18.${slot}.1`,
        `route add ${range4} via ${own4}`,
      ];
      if (count6 > 0) {
        hop.push(
          `addr add fd00:1ab:${hex}::2/64 dev ${upIf} nodad`,
          `addr add ${gw6}/64 dev ${downIf} nodad`,
          `route add ::/0 via fd00:1ab:${hex}::1`,
          `route add ${range6} via ${own6}`,
        );
      }
      await ip(['-n', routerNs, '-batch', '-'], `${hop.join('\n')}\n`);
      await run('ip', [
        'netns',
        'exec',
        routerNs,
        'sysctl',
        '-q',
        '-e',
        '-w',
        'net.ipv4.ip_forward=1',
        'net.ipv6.conf.all.forwarding=1',
        'net.ipv4.icmp_ratelimit=0',
        'net.ipv6.icmp.ratelimit=0',
      ]);
    }
    const inside = [
      'link set lo up',
      `addr add ${own4}/30 dev ${labIf}`,
      `link set ${labIf} up`,
      `route add default via ${gw4}`,
      `route add local ${range4} dev lo`,
    ];
    if (count6 > 0) {
      inside.push(
        `addr add ${own6}/64 dev ${labIf} nodad`,
        `route add ::/0 via ${gw6}`,
        `route add local ${range6} dev lo`,
      );
    }
    await ip(['-n', netns, '-batch', '-'], `${inside.join('\n')}\n`);
    const routes = [`route add ${range4} via 198.18.${slot}.2`];
    if (count6 > 0) routes.push(`route add ${range6} via fd00:1ab:${hex}::2`);
    await ip(['-batch', '-'], `${routes.join('\n')}\n`);
    // Errors the lab provokes must not be rate limited away, nor replies to a busy benchmark.
    await sysctl([
      'net.ipv4.icmp_ratelimit=0',
      'net.ipv6.icmp.ratelimit=0',
      'net.ipv4.icmp_msgs_per_sec=10000000',
      'net.ipv4.icmp_msgs_burst=10000000',
    ]);
  } catch (error) {
    closeSync();
    open.delete(closeSync);
    throw error;
  }

  const family = (address: string) => (address.includes(':') ? 'ip6' : 'ip');
  const icmpOf = (address: string) => (address.includes(':') ? 'icmpv6' : 'icmp');

  const stopResponder = async () => {
    const child = responder;
    if (!child) return;
    responder = null;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    await sysctl(['net.ipv4.icmp_echo_ignore_all=0', 'net.ipv6.icmp.echo_ignore_all=0']);
  };

  const setResponder = async (settings: ResponderOptions) => {
    await stopResponder();
    await sysctl(['net.ipv4.icmp_echo_ignore_all=1', 'net.ipv6.icmp.echo_ignore_all=1']);
    const args = [RUN_TS, RESPONDER, '--delay', String(settings.delayMs ?? 0)];
    if (settings.forge) args.push('--forge', settings.forge);
    if (settings.duplicate) args.push('--duplicate');
    if (targets6[0]) args.push('--source6', targets6[0]);
    args.push('--wrong-source', spareAddress, '--wrong-source6', spareAddress6);
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    responder = child;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`echo responder did not start: ${err}`)), 15_000);
      child.stderr!.on('data', (d) => {
        err += d;
      });
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`echo responder exited (${code}): ${err.trim()}`));
      });
    });
  };

  return {
    netns,
    slot,
    targets,
    targets6,
    spareAddress,
    spareAddress6,
    routerAddress: router ? { v4: `198.18.${slot}.2`, v6: `fd00:1ab:${hex}::2` } : null,
    async setLoss(target, percent) {
      const pct = Math.max(0, Math.min(100, Math.round(percent)));
      if (pct === 0) return;
      // numgen's range is 0..99: 100% is a plain drop.
      const chance = pct === 100 ? '' : `numgen random mod 100 < ${pct} `;
      const rules =
        target === 'all'
          ? [
              `add rule inet lab loss icmp type echo-request ${chance}drop`,
              `add rule inet lab loss icmpv6 type echo-request ${chance}drop`,
            ]
          : [
              `add rule inet lab loss ${family(target)} daddr ${target} ${icmpOf(target)} type echo-request ${chance}drop`,
            ];
      await nft(`${rules.join('\n')}\n`);
    },
    async setLossForSize(payloadBytes, percent) {
      const pct = Math.max(0, Math.min(100, Math.round(percent)));
      if (pct === 0) return;
      const chance = pct === 100 ? '' : `numgen random mod 100 < ${pct} `;
      await nft(
        `add rule inet lab loss ip length ${20 + 8 + payloadBytes} icmp type echo-request ${chance}drop\n` +
          `add rule inet lab loss ip6 length ${8 + payloadBytes} icmpv6 type echo-request ${chance}drop\n`,
      );
    },
    async clearLoss() {
      if (nftReady) await nft('flush chain inet lab loss\n');
    },
    async makeUnreachable(target) {
      const how = target.includes(':') ? 'icmpv6 type addr-unreachable' : 'icmp type host-unreachable';
      await nft(
        `add rule inet lab refuse ${family(target)} daddr ${target} ${icmpOf(target)} type echo-request reject with ${how}\n`,
      );
    },
    setResponder,
    setDelay: (ms) => setResponder({ delayMs: ms }),
    stopResponder,
    exec: nsExec,
    async close() {
      if (closed) return;
      await stopResponder().catch(() => {});
      closeSync();
      open.delete(closeSync);
    },
  };
}

export { cleanupStaleLabs };

import { finishChecksum, onesSum } from '../../agent/icmp/checksum.ts';
import { fixIcmp4Checksum, ICMP4, ICMP6, parsePacket } from '../../agent/icmp/codec.ts';
import { IcmpSocket } from '../../agent/icmp/icmp-socket.ts';
import { parseIp } from '../../shared/ip.ts';

// The lab's own echo responder, run inside a target namespace whose kernel echo replies are off
// (`ip netns exec NS node bin/run-ts.js test/lab/echo-responder.ts ...`). It answers echo requests
// after an exact delay (a timer to just before the deadline, then a short spin, since setTimeout
// alone is a millisecond late), and can misbehave on purpose: a wrong tag, a wrong source, a
// broken checksum, or every reply twice. IPv4 replies come from the address that was pinged; IPv6
// replies come from --source6 (raw IPv6 sockets do not tell which local address was the target).
//
// `--forge guess` plays a probed host that wants another address to look alive: it answers the
// probes it sees honestly and, for each, also sends replies from the wrong-source address built
// from that probe: its payload replayed as it is, and with the neighbouring sequence numbers and
// send times the pinger is likely to have used for the other address.
//
// Flags: --delay MS  --forge tag|source|checksum|stamp|guess  --duplicate  --source6 ADDR
//        --wrong-source IP  --wrong-source6 IP  (the addresses forged-source replies come from)
// Prints "ready" once listening.

interface Settings {
  delayMs: number;
  forge: 'tag' | 'source' | 'checksum' | 'stamp' | 'guess' | null;
  duplicate: boolean;
  source6: Uint8Array | null;
  wrongSource4: Uint8Array | null;
  wrongSource6: Uint8Array | null;
}

function readSettings(argv: string[]): Settings {
  const settings: Settings = {
    delayMs: 0,
    forge: null,
    duplicate: false,
    source6: null,
    wrongSource4: null,
    wrongSource6: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    if (flag === '--delay') settings.delayMs = Number(value);
    else if (flag === '--forge') settings.forge = value as Settings['forge'];
    else if (flag === '--source6') settings.source6 = parseIp(value)?.bytes ?? null;
    else if (flag === '--wrong-source') settings.wrongSource4 = parseIp(value)?.bytes ?? null;
    else if (flag === '--wrong-source6') settings.wrongSource6 = parseIp(value)?.bytes ?? null;
    else if (flag === '--duplicate') {
      settings.duplicate = true;
      continue;
    } else throw new Error(`echo-responder: unknown flag ${flag}`);
    i++;
  }
  return settings;
}

interface Reply {
  due: bigint;
  socket: IcmpSocket;
  packet: Buffer;
  to: string;
}

const settings = readSettings(process.argv.slice(2));
const queue: Reply[] = [];
let timer: NodeJS.Timeout | null = null;

function flush(): void {
  timer = null;
  while (queue.length > 0) {
    const next = queue[0]!;
    const wait = next.due - process.hrtime.bigint();
    if (wait > 1_500_000n) break;
    while (process.hrtime.bigint() < next.due) {
      // Spin the last stretch: the delay must be exact to well under a millisecond.
    }
    queue.shift();
    next.socket.send(next.packet, next.packet.length, next.to);
    if (settings.duplicate) next.socket.send(next.packet, next.packet.length, next.to);
  }
  if (queue.length > 0 && !timer) {
    const ms = Number(queue[0]!.due - process.hrtime.bigint()) / 1e6 - 1.2;
    timer = setTimeout(flush, Math.max(0, ms));
  }
}

function enqueue(reply: Reply): void {
  queue.push(reply);
  if (settings.delayMs <= 0) flush();
  else if (!timer) timer = setTimeout(flush, Math.max(0, settings.delayMs - 1.2));
}

function misbehave(packet: Buffer, icmpAt: number): void {
  if (settings.forge === 'tag' && packet.length >= icmpAt + 24) packet[icmpAt + 8 + 8]! ^= 0xff;
  // An older probe's reply: same identifier, sequence and tag, another send time.
  if (settings.forge === 'stamp' && packet.length >= icmpAt + 16) packet[icmpAt + 8 + 3]! ^= 0x01;
}

/** Sequence offsets and send-time shifts (µs) tried for each probe seen, in `--forge guess`. */
const SEQ_GUESSES = [0, -2, -1, 1, 2];
const STAMP_GUESSES = [0, -1000, 1000, -1, 1];

/**
 * Guessed replies built from one real reply `packet` (ICMP message at `icmpAt`): each a copy with
 * another sequence number and send time. The caller sets the source and the checksum.
 */
function guesses(packet: Buffer, icmpAt: number): Buffer[] {
  if (packet.length < icmpAt + 16) return [];
  const seq = packet.readUInt16BE(icmpAt + 6);
  const seconds = packet.readUInt32BE(icmpAt + 8);
  const micros = packet.readUInt32BE(icmpAt + 12);
  const out: Buffer[] = [];
  for (const dSeq of SEQ_GUESSES) {
    for (const dMicros of STAMP_GUESSES) {
      const copy = Buffer.from(packet);
      copy.writeUInt16BE((seq + dSeq) & 0xffff, icmpAt + 6);
      const shifted = seconds * 1_000_000 + micros + dMicros;
      copy.writeUInt32BE(Math.floor(shifted / 1_000_000) >>> 0, icmpAt + 8);
      copy.writeUInt32BE(shifted % 1_000_000, icmpAt + 12);
      out.push(copy);
    }
  }
  return out;
}

/** Writes the ICMPv6 checksum of `packet` (IPv6 header first), `broken` on purpose if asked. */
function fixIcmp6Checksum(packet: Buffer, broken: boolean): void {
  packet[42] = 0;
  packet[43] = 0;
  // Header-included IPv6 gets no help from the kernel: the ICMPv6 checksum covers a pseudo-header
  // of both addresses, the length and the next header.
  let sum = onesSum(packet, 8, 40);
  sum += packet.length - 40 + 58;
  sum = onesSum(packet, 40, packet.length, sum);
  const value = finishChecksum(sum);
  packet.writeUInt16BE(broken ? value ^ 0x55 : value, 42);
}

const dueNow = () => process.hrtime.bigint() + BigInt(Math.round(settings.delayMs * 1e6));

const v4 = new IcmpSocket({ family: 4, acceptTypes: [ICMP4.echoRequest], headerIncluded: true });
v4.onPacket((buf, length, source) => {
  const request = parsePacket(buf, length, 4);
  if (request?.kind !== 'echo-request') return;
  const ihl = (buf[0]! & 0x0f) * 4;
  const icmpLength = length - ihl;
  const packet = Buffer.alloc(20 + icmpLength);
  packet[0] = 0x45;
  packet[8] = 64;
  packet[9] = 1;
  // Answer from the address that was pinged (or a wrong one on purpose); the kernel fills the
  // length, identification and header checksum of IP_HDRINCL datagrams.
  const from =
    settings.forge === 'source' && settings.wrongSource4 ? settings.wrongSource4 : buf.subarray(16, 20);
  packet.set(from, 12);
  buf.copy(packet, 16, 12, 16);
  buf.copy(packet, 20, ihl, length);
  packet[20] = ICMP4.echoReply;
  if (settings.forge === 'guess' && settings.wrongSource4) {
    for (const forged of guesses(packet, 20)) {
      forged.set(settings.wrongSource4, 12);
      fixIcmp4Checksum(forged, 20, forged.length);
      enqueue({ due: dueNow(), socket: v4, packet: forged, to: source });
    }
  }
  misbehave(packet, 20);
  fixIcmp4Checksum(packet, 20, packet.length);
  if (settings.forge === 'checksum') packet[22]! ^= 0x55;
  enqueue({ due: dueNow(), socket: v4, packet, to: source });
});

let v6: IcmpSocket | null = null;
if (settings.source6) {
  const source6 = settings.source6;
  const socket6 = new IcmpSocket({ family: 6, acceptTypes: [ICMP6.echoRequest], headerIncluded: true });
  v6 = socket6;
  socket6.onPacket((buf, length, source) => {
    const request = parsePacket(buf, length, 6);
    const to = parseIp(source);
    if (request?.kind !== 'echo-request' || !to) return;
    const packet = Buffer.alloc(40 + length);
    packet[0] = 0x60;
    packet.writeUInt16BE(length, 4);
    packet[6] = 58;
    packet[7] = 64;
    packet.set(settings.forge === 'source' && settings.wrongSource6 ? settings.wrongSource6 : source6, 8);
    packet.set(to.bytes, 24);
    buf.copy(packet, 40, 0, length);
    packet[40] = ICMP6.echoReply;
    if (settings.forge === 'guess' && settings.wrongSource6) {
      for (const forged of guesses(packet, 40)) {
        forged.set(settings.wrongSource6, 8);
        fixIcmp6Checksum(forged, false);
        enqueue({ due: dueNow(), socket: socket6, packet: forged, to: source });
      }
    }
    misbehave(packet, 40);
    fixIcmp6Checksum(packet, settings.forge === 'checksum');
    enqueue({ due: dueNow(), socket: socket6, packet, to: source });
  });
}

process.on('SIGTERM', () => {
  v4.close();
  v6?.close();
  process.exit(0);
});
process.stdout.write('ready\n');

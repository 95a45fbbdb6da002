import { randomBytes } from 'node:crypto';
import { formatIp, parseIp } from '../../shared/ip.ts';
import { onesSum } from './checksum.ts';
import {
  echoReplyOffset,
  type Family,
  ICMP4,
  ICMP6,
  parsePacket,
  readIpv4,
  readIpv6,
  writeEchoHeader,
} from './codec.ts';
import { DeadlineQueue } from './deadline-queue.ts';
import { IcmpSocket } from './icmp-socket.ts';
import { sipHash24, sipKey } from './siphash.ts';
import type { EngineOptions, IcmpErrorReport, ProbeEngine, ProbeOptions, TargetResult } from './types.ts';

// The probe engine: one raw socket per family, one random identifier, a pending table indexed by
// sequence number held in typed arrays, one deadline queue, and a token bucket that paces every
// concurrent probe() call together. Sends go out in batches from one setImmediate turn so replies
// are read between batches. Per packet the engine creates no objects or arrays (only V8's boxed
// clock readings and the addon's source-address string per reply); per target it keeps its result
// object and, once answered, an RTT list sized for the call's count.
//
// Payload: bytes 0-7 the send time as a Unix timestamp (u32 seconds, u32 microseconds, the seed's
// design), 8-15 a tag, then a fixed pad up to the requested size. The tag is a MAC (SipHash-2-4
// under a random key each engine draws at start) over the destination's address, the identifier,
// the sequence number and the send time: a probed host sees its own probes, but cannot compute the
// tag of a probe to another address, so it cannot make that address look alive by replying for it.

export const MIN_PAYLOAD = 16;
export const MAX_PAYLOAD = 65_000;

const SLOTS = 65_536;
const FREE = 0;
const WAITING = 1;
const ANSWERED = 2;
const EXPIRED = 3;
const FAILED = 4;
/** Most sends in one event-loop turn, so replies are read between batches. */
const BATCH = 256;

/** Shared by every target without a reply yet; never handed out (see finish()). */
const NO_SAMPLES: number[] = [];

/** A target's running tally; it is also the result handed back, so finishing copies nothing. */
class Target implements TargetResult {
  sent = 0;
  received = 0;
  // Until its first reply a target shares one empty list (finish() gives each unanswered target
  // its own): an empty array per target is 32 bytes that live as long as the run.
  rttsMs: number[] = NO_SAMPLES;
  late = 0;
  duplicates = 0;
  ttl: number | null = null;
  unreachable: IcmpErrorReport | null = null;
  ttlExceeded: IcmpErrorReport | null = null;
  readonly ip: string;
  /** 0 when `ip` is not an address: such a target is reported, never sent to. */
  readonly family: Family | 0;
  /** The address's 16 bytes for IPv6 (the tag covers them); IPv4 reads its bytes from `ip`. */
  readonly bytes6: Uint8Array | null;

  constructor(raw: string) {
    // Most targets are canonical dotted quads already: no parse, no intermediate object.
    if (isCanonicalV4(raw)) {
      this.ip = raw;
      this.family = 4;
      this.bytes6 = null;
    } else {
      const parsed = parseIp(raw.trim());
      this.ip = parsed ? formatIp(parsed) : raw;
      this.family = parsed ? parsed.family : 0;
      this.bytes6 = parsed?.family === 6 ? parsed.bytes : null;
    }
  }
}

interface Call {
  /** Key in the engine's table of running calls; the pending table refers to calls by it. */
  id: number;
  targets: Target[];
  options: ProbeOptions;
  round: number;
  index: number;
  roundStartedAt: number;
  nextAt: number;
  sending: boolean;
  outstanding: number;
  finished: boolean;
  resolve: (results: TargetResult[]) => void;
}

// The monotonic clock in nanoseconds. performance.now() reads the same clock as
// process.hrtime.bigint() (libuv's hrtime) without allocating a BigInt per packet, which at 100k
// packets a second showed up as garbage-collector time.
const nowNs = () => performance.now() * 1e6;

/** Most RTT slots reserved at a target's first reply; more probes than that grow the array. */
const RESERVED_SAMPLES = 128;

/** A target's RTT list with room for its call's samples, holding the first. */
function firstSample(count: number, rtt: number): number[] {
  const samples = new Array<number>(Math.min(count, RESERVED_SAMPLES));
  samples[0] = rtt;
  return samples;
}

function report(previous: IcmpErrorReport | null, code: number, from: string): IcmpErrorReport {
  return { count: (previous?.count ?? 0) + 1, code, from };
}

/**
 * Dotted quads without leading zeros are already canonical, so most targets skip the parse.
 * Checked by hand: a regular expression test allocates about 40 bytes per call, per target.
 */
function isCanonicalV4(ip: string): boolean {
  const n = ip.length;
  let dots = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return false;
      digits = 0;
      value = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return false; // a leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return false;
    } else {
      return false;
    }
  }
  return dots === 3 && digits > 0;
}

/** Writes the four bytes of a canonical dotted quad to `out[0..3]`, without allocating. */
function writeV4(ip: string, out: Uint8Array): void {
  let part = 0;
  let value = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      out[part++] = value;
      value = 0;
    } else {
      value = value * 10 + (c - 48);
    }
  }
  out[part] = value;
}

/** The canonical text of an address the kernel reported (IPv6 sources may be spelled differently). */
function canonicalSource(ip: string): string {
  if (isCanonicalV4(ip)) return ip;
  const parsed = parseIp(ip);
  return parsed ? formatIp(parsed) : ip;
}

class Engine implements ProbeEngine {
  readonly identifier = randomBytes(2).readUInt16BE(0);
  private readonly tagKey = sipKey(randomBytes(16));
  /** What a tag covers: address (4 or 16 bytes), identifier, sequence, send time. */
  private readonly tagInput = new Uint8Array(16 + 12);
  /** The tag of the probe being sent, kept for its slot once the send succeeded. */
  private readonly tag = new Uint32Array(2);
  private readonly sockets: { 4: IcmpSocket | null; 6: IcmpSocket | null };
  private readonly sendBuffer = Buffer.alloc(8 + MAX_PAYLOAD);
  private readonly padSums = new Map<number, number>();
  private readonly state = new Uint8Array(SLOTS);
  private readonly serialOf = new Float64Array(SLOTS);
  private readonly sentAt = new Float64Array(SLOTS);
  // The payload's timestamp and tag words per slot: a reply must echo both, so an old probe's late
  // reply cannot pass for the newer probe that reuses its sequence number (they wrap every 65,536).
  private readonly stampOf = new Uint32Array(SLOTS * 2);
  private readonly tagOf = new Uint32Array(SLOTS * 2);
  private readonly targetOf = new Int32Array(SLOTS);
  // Calls by id, not by reference: a slot outlives its call, and a reference there would keep a
  // finished call's whole result list alive until the slot was reused.
  private readonly callOf = new Uint32Array(SLOTS);
  private readonly calls = new Map<number, Call>();
  private nextCallId = 0;
  private readonly deadlines = new DeadlineQueue();
  private readonly active: Call[] = [];
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxInFlight: number;
  private tokens: number;
  private lastRefill = nowNs();
  private nextSeq = 0;
  private serial = 0;
  private inFlight = 0;
  private rr = 0;
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private closing: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(options: EngineOptions, v4: IcmpSocket, v6: IcmpSocket | null) {
    this.rate = Math.max(1, options.ratePps);
    // A 5 ms burst: the pump wakes on ~1 ms timers, so a smaller bucket could not reach the rate.
    this.burst = Math.max(16, this.rate / 200);
    this.tokens = this.burst;
    this.maxInFlight = Math.min(Math.max(1, options.maxInFlight ?? 30_000), SLOTS / 2);
    this.sockets = { 4: v4, 6: v6 };
    for (let i = 24; i < this.sendBuffer.length; i++) this.sendBuffer[i] = i & 0xff;
    v4.onPacket((buf, len, source) => this.receive(buf, len, source, 4));
    v6?.onPacket((buf, len, source) => this.receive(buf, len, source, 6));
  }

  probe(targets: readonly string[], options: ProbeOptions): Promise<TargetResult[]> {
    if (this.closing) return Promise.reject(new Error('the probe engine is closed'));
    const size = Math.min(MAX_PAYLOAD, Math.max(MIN_PAYLOAD, Math.floor(options.size)));
    const opts: ProbeOptions = {
      count: Math.max(0, Math.floor(options.count)),
      periodMs: Math.max(0, options.periodMs),
      timeoutMs: Math.max(1, options.timeoutMs),
      size,
      ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
    };
    const list = targets.map((raw) => new Target(raw));
    return new Promise((resolve) => {
      const now = nowNs();
      // Ids wrap within the Uint32Array's range; 0 is never used, so a fresh slot matches no call.
      this.nextCallId = this.nextCallId >= 0xffff_ffff ? 1 : this.nextCallId + 1;
      const call: Call = {
        id: this.nextCallId,
        targets: list,
        options: opts,
        round: 0,
        index: 0,
        roundStartedAt: now,
        nextAt: now,
        sending: opts.count > 0 && list.length > 0,
        outstanding: 0,
        finished: false,
        resolve,
      };
      if (!call.sending) return this.finish(call);
      this.active.push(call);
      this.calls.set(call.id, call);
      this.schedule();
    });
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        if (this.active.length === 0) resolve();
        else this.idleWaiters.push(resolve);
      }).then(() => {
        if (this.timer) clearTimeout(this.timer);
        if (this.immediate) clearImmediate(this.immediate);
        this.sockets[4]?.close();
        this.sockets[6]?.close();
      });
    }
    return this.closing;
  }

  private schedule(): void {
    if (!this.immediate) this.immediate = setImmediate(() => this.pump());
  }

  private armTimer(atNs: number): void {
    if (atNs >= this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = atNs;
    const ms = Math.max(0, Math.ceil((atNs - nowNs()) / 1e6));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, ms);
  }

  private readonly pump = (): void => {
    IcmpSocket.withoutStacks(this.pumpOnce);
  };

  private readonly pumpOnce = (): void => {
    this.immediate = null;
    let now = nowNs();
    this.deadlines.expireUntil(now, this.expire);
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) * this.rate) / 1e9);
    this.lastRefill = now;
    let budget = Math.min(BATCH, Math.floor(this.tokens), this.maxInFlight - this.inFlight);
    let wantMore = false;
    let sentAny = false;
    let earliest = Number.POSITIVE_INFINITY;
    const n = this.active.length;
    for (let k = 0; k < n && budget > 0; k++) {
      // A call that finished during this loop has left `active`: indexes may run past its end.
      const call = this.active[(this.rr + k) % n];
      if (!call?.sending) continue;
      if (call.nextAt > now) {
        earliest = Math.min(earliest, call.nextAt);
        continue;
      }
      const sent = this.sendFrom(call, budget);
      if (sent < 0) {
        // The kernel's send queue is full: try again shortly instead of spinning.
        wantMore = false;
        earliest = Math.min(earliest, now + 1e6);
        break;
      }
      budget -= sent;
      this.tokens -= sent;
      if (sent > 0) sentAny = true;
      if (call.sending && call.nextAt <= now) wantMore = true;
      else if (call.sending) earliest = Math.min(earliest, call.nextAt);
    }
    this.rr = n === 0 ? 0 : (this.rr + 1) % n;
    if (sentAny) {
      this.sockets[4]?.drain();
      this.sockets[6]?.drain();
    }
    now = nowNs();
    for (const call of this.active) {
      if (call.sending && call.nextAt > now) earliest = Math.min(earliest, call.nextAt);
      else if (call.sending) wantMore = true;
    }
    if (wantMore) {
      if (this.tokens >= 1 && this.inFlight < this.maxInFlight) this.schedule();
      else if (this.tokens < 1) earliest = Math.min(earliest, now + ((1 - this.tokens) * 1e9) / this.rate);
      // Else the in-flight cap holds us: a reply or a timeout frees a slot and pumps again.
    }
    earliest = Math.min(earliest, this.deadlines.next());
    if (earliest < Number.POSITIVE_INFINITY) this.armTimer(earliest);
  };

  /** Sends up to `budget` probes of `call`; returns how many, or -1 when the kernel pushed back. */
  private sendFrom(call: Call, budget: number): number {
    const { options } = call;
    let sent = 0;
    while (sent < budget) {
      const target = call.targets[call.index]!;
      const outcome = this.sendOne(call, target, call.index);
      if (outcome === 'retry') return sent === 0 ? -1 : sent;
      if (outcome === 'sent') sent++;
      call.index++;
      if (call.index === call.targets.length) {
        call.index = 0;
        call.round++;
        if (call.round === options.count) {
          call.sending = false;
          this.maybeFinish(call);
          break;
        }
        call.roundStartedAt = Math.max(call.roundStartedAt + options.periodMs * 1e6, nowNs());
        call.nextAt = call.roundStartedAt;
        if (options.periodMs > 0) break;
      }
    }
    return sent;
  }

  private sendOne(call: Call, target: Target, index: number): 'sent' | 'skipped' | 'retry' {
    const family = target.family;
    const socket = family === 0 ? null : this.sockets[family];
    if (family === 0 || !socket) {
      // Not an IP address, or no socket for its family: a probe that could not leave is a loss.
      target.sent++;
      target.unreachable = report(target.unreachable, -1, 'local');
      return 'skipped';
    }
    let seq = this.nextSeq;
    while (this.state[seq] === WAITING) seq = (seq + 1) & 0xffff;
    const size = call.options.size;
    const buf = this.sendBuffer;
    const epochMs = Date.now();
    const seconds = Math.floor(epochMs / 1000);
    const micros = (epochMs - seconds * 1000) * 1000;
    // Byte stores rather than Buffer's write methods: those box their arguments, which at 100k
    // packets a second is a steady stream of garbage.
    buf[8] = seconds >>> 24;
    buf[9] = (seconds >>> 16) & 0xff;
    buf[10] = (seconds >>> 8) & 0xff;
    buf[11] = seconds & 0xff;
    buf[12] = micros >>> 24;
    buf[13] = (micros >>> 16) & 0xff;
    buf[14] = (micros >>> 8) & 0xff;
    buf[15] = micros & 0xff;
    this.writeTag(target, seq, buf);
    // Only the first 24 bytes change between probes; the pad's sum is cached per size.
    const padSum = family === 4 ? this.padSum(size) : 0;
    writeEchoHeader(buf, 0, 8 + size, family, false, this.identifier, seq, 24, padSum);
    socket.setTtl(call.options.ttl);
    const sentAtNs = nowNs();
    const error = socket.send(buf, 8 + size, target.ip);
    if (error) {
      if (/ENOBUFS|EAGAIN|buffer space|temporarily unavailable/i.test(error.message)) return 'retry';
      target.sent++;
      target.unreachable = report(target.unreachable, -1, 'local');
      return 'skipped';
    }
    this.nextSeq = (seq + 1) & 0xffff;
    const serial = ++this.serial;
    this.state[seq] = WAITING;
    this.serialOf[seq] = serial;
    this.sentAt[seq] = sentAtNs;
    this.stampOf[2 * seq] = seconds;
    this.stampOf[2 * seq + 1] = micros;
    this.tagOf[2 * seq] = this.tag[0]!;
    this.tagOf[2 * seq + 1] = this.tag[1]!;
    this.targetOf[seq] = index;
    this.callOf[seq] = call.id;
    this.inFlight++;
    call.outstanding++;
    target.sent++;
    // The ring is picked by the timeout in ms, a small integer: a Map lookup by a float key boxes it.
    this.deadlines.push(call.options.timeoutMs, sentAtNs + call.options.timeoutMs * 1e6, seq, serial);
    return 'sent';
  }

  /**
   * The tag of the probe with sequence `seq` whose timestamp is in `buf[8..15]`, to `target`: written to
   * the payload (`buf[16..23]`, the hash's little-endian bytes) and to `this.tag`.
   */
  private writeTag(target: Target, seq: number, buf: Buffer): void {
    const input = this.tagInput;
    let n = 4;
    if (target.bytes6) {
      input.set(target.bytes6, 0);
      n = 16;
    } else {
      writeV4(target.ip, input);
    }
    input[n] = this.identifier >> 8;
    input[n + 1] = this.identifier & 0xff;
    input[n + 2] = seq >> 8;
    input[n + 3] = seq & 0xff;
    for (let i = 8; i < 16; i++) input[n - 4 + i] = buf[i]!;
    const tag = this.tag;
    sipHash24(this.tagKey, input, 0, n + 12, tag, 0);
    const low = tag[0]!;
    const high = tag[1]!;
    buf[16] = low & 0xff;
    buf[17] = (low >>> 8) & 0xff;
    buf[18] = (low >>> 16) & 0xff;
    buf[19] = low >>> 24;
    buf[20] = high & 0xff;
    buf[21] = (high >>> 8) & 0xff;
    buf[22] = (high >>> 16) & 0xff;
    buf[23] = high >>> 24;
  }

  private padSum(size: number): number {
    let sum = this.padSums.get(size);
    if (sum === undefined) {
      sum = onesSum(this.sendBuffer, 24, 8 + size);
      this.padSums.set(size, sum);
    }
    return sum;
  }

  private readonly expire = (seq: number, serial: number): void => {
    if (this.serialOf[seq] !== serial || this.state[seq] !== WAITING) return;
    this.state[seq] = EXPIRED;
    this.settle(seq);
  };

  /** A waiting probe got its answer, an error, or its timeout. */
  private settle(seq: number): void {
    this.inFlight--;
    const call = this.calls.get(this.callOf[seq]!)!;
    call.outstanding--;
    this.maybeFinish(call);
    if (this.active.length > 0) this.schedule();
  }

  private maybeFinish(call: Call): void {
    if (call.sending || call.outstanding > 0 || call.finished) return;
    const i = this.active.indexOf(call);
    if (i >= 0) this.active.splice(i, 1);
    this.calls.delete(call.id);
    this.finish(call);
    if (this.active.length === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private finish(call: Call): void {
    // An index loop: this runs once per call, before it is optimized, and an iterator would then
    // allocate a result object per target.
    const targets = call.targets;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      if (target.rttsMs === NO_SAMPLES) target.rttsMs = [];
      else if (target.rttsMs.length > target.received) target.rttsMs.length = target.received;
    }
    call.finished = true;
    call.resolve(call.targets);
  }

  private receive(buf: Buffer, length: number, source: string, family: Family): void {
    const now = nowNs();
    const at = echoReplyOffset(buf, length, family);
    if (at >= 0) {
      this.receiveReply(buf, at, length, source, family, now);
      return;
    }
    const packet = parsePacket(buf, length, family);
    if (!packet || packet.id !== this.identifier) return;
    if (packet.kind !== 'unreachable' && packet.kind !== 'time-exceeded') return;
    const seq = packet.seq;
    if (this.state[seq] !== WAITING) return;
    const call = this.calls.get(this.callOf[seq]!)!;
    const target = call.targets[this.targetOf[seq]!]!;
    if (target.family !== family) return;
    // The quoted request must be ours to this very target, not one to another host with our id.
    const quotedDst =
      family === 4 ? readIpv4(buf, packet.originalDstOffset) : readIpv6(buf, packet.originalDstOffset);
    if (quotedDst !== target.ip) return;
    const from = family === 4 ? source : canonicalSource(source);
    if (packet.kind === 'unreachable') target.unreachable = report(target.unreachable, packet.code, from);
    else target.ttlExceeded = report(target.ttlExceeded, packet.code, from);
    this.state[seq] = FAILED;
    this.settle(seq);
  }

  /**
   * An echo reply (checksum already valid): counts only with our id, and the send timestamp and
   * tag of the probe now holding its sequence number, from that probe's destination.
   */
  private receiveReply(
    buf: Buffer,
    at: number,
    length: number,
    source: string,
    family: Family,
    now: number,
  ): void {
    if (length - at < 24 || ((buf[at + 4]! << 8) | buf[at + 5]!) !== this.identifier) return;
    const seq = (buf[at + 6]! << 8) | buf[at + 7]!;
    const state = this.state[seq]!;
    if (state === FREE) return;
    const seconds =
      ((buf[at + 8]! << 24) | (buf[at + 9]! << 16) | (buf[at + 10]! << 8) | buf[at + 11]!) >>> 0;
    const micros =
      ((buf[at + 12]! << 24) | (buf[at + 13]! << 16) | (buf[at + 14]! << 8) | buf[at + 15]!) >>> 0;
    if (seconds !== this.stampOf[2 * seq] || micros !== this.stampOf[2 * seq + 1]) return;
    const tagLow =
      (buf[at + 16]! | (buf[at + 17]! << 8) | (buf[at + 18]! << 16) | (buf[at + 19]! << 24)) >>> 0;
    const tagHigh =
      (buf[at + 20]! | (buf[at + 21]! << 8) | (buf[at + 22]! << 16) | (buf[at + 23]! << 24)) >>> 0;
    if (tagLow !== this.tagOf[2 * seq] || tagHigh !== this.tagOf[2 * seq + 1]) return;
    // A late or second reply to a call that has already returned its results changes nothing.
    const call = this.calls.get(this.callOf[seq]!);
    if (!call) return;
    const target = call.targets[this.targetOf[seq]!]!;
    if (target.family !== family) return;
    if (source !== target.ip && canonicalSource(source) !== target.ip) return;
    if (state === WAITING) {
      this.state[seq] = ANSWERED;
      const rtt = (now - this.sentAt[seq]!) / 1e6;
      const n = target.received++;
      // Sized for the call's count at the first reply (cut to what came back when the call
      // finishes): growing by push would reserve 17 slots, and reallocate, per target.
      if (n === 0) target.rttsMs = call.options.count === 1 ? [rtt] : firstSample(call.options.count, rtt);
      else if (n < target.rttsMs.length) target.rttsMs[n] = rtt;
      else target.rttsMs.push(rtt);
      target.ttl = family === 4 ? buf[8]! : null;
      this.settle(seq);
    } else if (state === ANSWERED) {
      target.duplicates++;
    } else if (state === EXPIRED) {
      target.late++;
    }
  }
}

/**
 * Opens the raw sockets and returns a running engine. Throws RawSocketPermissionError (from
 * ./errors.ts) without root or CAP_NET_RAW. IPv6 is optional: on a host without it, IPv6 targets
 * come back as unreachable from 'local'.
 */
export async function openProbeEngine(options: EngineOptions): Promise<ProbeEngine> {
  const v4 = new IcmpSocket({
    family: 4,
    acceptTypes: [ICMP4.echoReply, ICMP4.unreachable, ICMP4.timeExceeded],
  });
  let v6: IcmpSocket | null = null;
  try {
    v6 = new IcmpSocket({
      family: 6,
      acceptTypes: [ICMP6.echoReply, ICMP6.unreachable, ICMP6.timeExceeded],
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_RAW_SOCKET_PERMISSION') {
      v4.close();
      throw error;
    }
  }
  return new Engine(options, v4, v6);
}

import { createRequire } from 'node:module';
import { RawSocketPermissionError, RawSocketUnavailableError } from './errors.ts';

// The only place that touches the raw-socket addon. Its JavaScript wrapper queues every send for
// the next writable event and does one recvfrom per readable event; at 100k packets a second that
// is the bottleneck, so this module drives the addon's synchronous send and recv directly: sends go
// out at once from the caller's loop, and each readable event drains the socket until it is empty.

const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const SOL_RAW = 255;
const ICMP_FILTER = 1;
const IPPROTO_IP = 0;
const IP_TTL = 2;
const IP_HDRINCL = 3;
const IPPROTO_IPV6 = 41;
const IPV6_UNICAST_HOPS = 16;
const ICMP6_FILTER = 1;

interface RawWrap {
  send(buf: Buffer, offset: number, length: number, address: string, done: (bytes: number) => void): void;
  recv(buf: Buffer, done: (buf: Buffer, bytes: number, source: string) => void): void;
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  getOption(level: number, option: number, value: Buffer, length: number): number;
  on(event: string, listener: (...args: unknown[]) => void): void;
  removeAllListeners(event: string): void;
}
interface RawSocket {
  wrap: RawWrap;
  close(): void;
  pauseRecv(): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}
interface RawModule {
  createSocket(options: { protocol: number; addressFamily: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

let rawModule: RawModule | undefined;
function loadRaw(): RawModule {
  if (rawModule) return rawModule;
  try {
    rawModule = createRequire(import.meta.url)('raw-socket') as RawModule;
  } catch (error) {
    throw new RawSocketUnavailableError((error as Error).message);
  }
  return rawModule;
}

export interface IcmpSocketOptions {
  family: 4 | 6;
  /** ICMP types the kernel should deliver; everything else is filtered out before we wake. */
  acceptTypes: readonly number[];
  /** Receive buffer wanted, bytes (root may exceed net.core.rmem_max). */
  receiveBufferBytes?: number;
  /**
   * Send whole datagrams with our own IP header (IPv4 IP_HDRINCL; for IPv6 a second,
   * IPPROTO_RAW socket). Only the lab's responder needs this, to answer from any address.
   */
  headerIncluded?: boolean;
}

/** Called for each datagram; `buf` is reused, so read what you need before returning. */
export type PacketHandler = (buf: Buffer, length: number, source: string) => void;

const noop = () => {};
const DRAIN_LIMIT = 4096;

export class IcmpSocket {
  readonly family: 4 | 6;
  private readonly socket: RawSocket;
  private readonly sender: RawSocket;
  private readonly recvBuffer = Buffer.allocUnsafe(65_536);
  private handler: PacketHandler = noop;
  private currentTtl = -1;
  private readonly defaultTtl: number;
  private closed = false;
  private lastLength = 0;
  private lastSource = '';
  private readonly onRecv = (_buf: Buffer, bytes: number, source: string) => {
    this.lastLength = bytes;
    this.lastSource = source;
  };

  constructor(options: IcmpSocketOptions) {
    const raw = loadRaw();
    this.family = options.family;
    const addressFamily = options.family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6;
    const protocol = options.family === 4 ? 1 : 58;
    this.socket = open(raw, protocol, addressFamily);
    this.sender = this.socket;
    if (options.headerIncluded) {
      if (options.family === 4) this.socket.wrap.setOption(IPPROTO_IP, IP_HDRINCL, 1);
      // Linux sets header-included on IPv6 sockets of protocol IPPROTO_RAW.
      else this.sender = open(raw, 255, addressFamily);
    }
    this.setFilter(options.acceptTypes);
    this.setReceiveBuffer(options.receiveBufferBytes ?? 8 * 1024 * 1024);
    this.defaultTtl = this.readTtl();
    this.currentTtl = this.defaultTtl;
    const wrap = this.socket.wrap;
    // Replace the wrapper's one-datagram-per-event reader with one that drains the socket.
    wrap.removeAllListeners('recvReady');
    wrap.on('recvReady', () => this.drain());
    this.socket.on('error', noop);
    if (this.sender !== this.socket) this.sender.on('error', noop);
  }

  onPacket(handler: PacketHandler): void {
    this.handler = handler;
  }

  /** Sends one datagram at once. Returns null when sent, else the error (ENOBUFS, EHOSTUNREACH...). */
  send(buf: Buffer, length: number, address: string): Error | null {
    try {
      this.sender.wrap.send(buf, 0, length, address, noop);
      return null;
    } catch (error) {
      return error as Error;
    }
  }

  /**
   * Runs `work` with stack traces off: the addon reports EAGAIN and ENOBUFS by throwing, and
   * capturing a stack for each of those costs more than the packet itself.
   */
  static withoutStacks<T>(work: () => T): T {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return work();
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  /** Sets the TTL / hop limit of the following sends; undefined restores the system default. */
  setTtl(ttl: number | undefined): void {
    const wanted = ttl ?? this.defaultTtl;
    if (wanted === this.currentTtl) return;
    if (this.family === 4) this.socket.wrap.setOption(IPPROTO_IP, IP_TTL, wanted);
    else this.socket.wrap.setOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, wanted);
    this.currentTtl = wanted;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    if (this.sender !== this.socket) this.sender.close();
  }

  /**
   * Reads what is queued now, without waiting for the event loop to report it. The engine calls
   * this after each batch of sends: on a fast path the replies are already there, and reading them
   * at once keeps the event loop's own latency out of the measured round trip.
   */
  drain(): void {
    IcmpSocket.withoutStacks(this.drainAll);
  }

  private readonly drainAll = (): void => {
    const wrap = this.socket.wrap;
    for (let i = 0; i < DRAIN_LIMIT && !this.closed; i++) {
      try {
        wrap.recv(this.recvBuffer, this.onRecv);
      } catch {
        return; // EAGAIN: the socket is empty (it is non-blocking).
      }
      this.handler(this.recvBuffer, this.lastLength, this.lastSource);
    }
  };

  private setFilter(types: readonly number[]): void {
    if (this.family === 4) {
      // ICMP_FILTER: a set bit drops that type.
      let mask = 0xffffffff;
      for (const t of types) if (t < 32) mask &= ~(1 << t);
      this.socket.wrap.setOption(SOL_RAW, ICMP_FILTER, mask >>> 0);
    } else {
      // struct icmp6_filter: 256 bits, a set bit blocks that type.
      const filter = Buffer.alloc(32, 0xff);
      for (const t of types) filter[t >> 3]! &= ~(1 << (t & 7));
      // The kernel reads it as eight host-order 32-bit words; on little-endian hosts bit n of the
      // word is bit (n & 7) of byte n >> 3, which is what was written above.
      this.socket.wrap.setOption(58, ICMP6_FILTER, filter, filter.length);
    }
  }

  private setReceiveBuffer(bytes: number): void {
    try {
      this.socket.wrap.setOption(SOL_SOCKET, SO_RCVBUFFORCE, bytes);
    } catch {
      // Without CAP_NET_ADMIN the kernel caps it at net.core.rmem_max; take what it gives.
      this.socket.wrap.setOption(SOL_SOCKET, SO_RCVBUF, bytes);
    }
  }

  private readTtl(): number {
    const out = Buffer.alloc(4);
    if (this.family === 4) this.socket.wrap.getOption(IPPROTO_IP, IP_TTL, out, 4);
    else this.socket.wrap.getOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, out, 4);
    const value = out.readInt32LE(0);
    return value > 0 ? value : 64;
  }
}

function open(raw: RawModule, protocol: number, addressFamily: number): RawSocket {
  try {
    return raw.createSocket({ protocol, addressFamily });
  } catch (error) {
    const message = (error as Error).message;
    if (/not permitted|permission denied|EPERM|EACCES/i.test(message)) {
      throw new RawSocketPermissionError(message);
    }
    throw error;
  }
}

// An incremental RESP2 reply parser. Redis answers a pipelined connection with a stream of replies
// that TCP cuts wherever it likes, so the parser keeps its place between chunks: completed array
// elements are never parsed twice, and a large bulk string is gathered once its length is known
// instead of being re-scanned on every chunk.

/** How bulk and simple strings come out: the gateway answers either plain JSON or base64 strings. */
export type StringEncoding = 'utf8' | 'base64';

/** An error reply from Redis. `encoded` is its text in the reply's string encoding, for nesting. */
export class RedisErrorReply {
  constructor(
    readonly message: string,
    readonly encoded: string,
  ) {}
}

/**
 * An integer reply too large for a double (Redis integers are 64-bit). Its digits go into the JSON
 * as they came, so a client that parses big numbers exactly gets them exactly.
 */
export class BigIntegerReply {
  constructor(readonly digits: string) {}
}

export type Reply = string | number | null | RedisErrorReply | BigIntegerReply | Reply[];

/** Redis sent bytes that are not RESP2: the connection cannot be trusted any further. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(`Redis sent something that is not a RESP2 reply: ${message}`);
    this.name = 'ProtocolError';
  }
}

interface OpenArray {
  items: Reply[];
  remaining: number;
}

/**
 * What the replies to one request may still take, in bytes as Redis sends them. Shared by all the
 * top-level replies of that request; once `left` goes below zero, `exceeded` is set and the rest
 * of those replies is skipped as it arrives instead of being gathered and decoded.
 */
export interface ReplyBudget {
  left: number;
  exceeded: boolean;
}

/** Stands for a top-level reply skipped because its request's budget was exceeded. */
const SKIPPED: Reply = null;

const CR = 13;
// RESP2's type bytes: + - : $ *
const SIMPLE_STRING = 0x2b;
const ERROR = 0x2d;
const INTEGER = 0x3a;
const BULK_STRING = 0x24;
const ARRAY = 0x2a;
const EMPTY = Buffer.alloc(0);

export class RespParser {
  private buffer: Buffer = EMPTY;
  private offset = 0;
  /** Chunks held back while a bulk string longer than what has arrived is still coming. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private neededBytes = 0;
  private readonly stack: OpenArray[] = [];
  private encoding: StringEncoding = 'utf8';
  /** Bumped by reset(), so a reset from inside onReply stops the parse of the current chunk. */
  private generation = 0;
  private budget: ReplyBudget | null = null;
  /** True while the current top-level reply is being skipped. */
  private skipping = false;
  /** Bytes of a skipped bulk string still to come, dropped from the front of the next chunks. */
  private skipBytes = 0;

  /**
   * @param onReply called once per complete top-level reply, in order
   * @param encodingOfNext asked at the start of each top-level reply how to decode its strings
   * @param budgetOfNext asked at the start of each top-level reply what it may take, if bounded
   */
  constructor(
    private readonly onReply: (reply: Reply) => void,
    private readonly encodingOfNext: () => StringEncoding,
    private readonly budgetOfNext: () => ReplyBudget | null = () => null,
  ) {}

  /** Drops partial input, e.g. after the connection it came from was lost. */
  reset(): void {
    this.generation++;
    this.buffer = EMPTY;
    this.offset = 0;
    this.held = [];
    this.heldBytes = 0;
    this.neededBytes = 0;
    this.stack.length = 0;
    this.budget = null;
    this.skipping = false;
    this.skipBytes = 0;
  }

  feed(chunk: Buffer): void {
    if (this.skipBytes > 0) {
      if (chunk.length <= this.skipBytes) {
        this.skipBytes -= chunk.length;
        return;
      }
      chunk = chunk.subarray(this.skipBytes);
      this.skipBytes = 0;
    }
    if (this.neededBytes > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes < this.neededBytes) return;
      this.buffer = Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
      this.neededBytes = 0;
    } else if (this.offset >= this.buffer.length) {
      this.buffer = chunk;
    } else {
      this.buffer = Buffer.concat([this.buffer.subarray(this.offset), chunk]);
    }
    this.offset = 0;
    this.drain();
  }

  private drain(): void {
    const buffer = this.buffer;
    const end = buffer.length;
    const generation = this.generation;
    while (this.offset < end) {
      if (this.stack.length === 0) {
        this.encoding = this.encodingOfNext();
        this.budget = this.budgetOfNext();
        this.skipping = this.budget?.exceeded === true;
      }
      const start = this.offset;
      const value = this.element(buffer, start, end);
      if (value === INCOMPLETE) {
        this.holdFrom(start);
        return;
      }
      if (this.budget !== null) this.spend(this.offset - start);
      if (value === OPENED) continue;
      this.complete(value);
      if (this.generation !== generation) return;
    }
    this.buffer = EMPTY;
    this.offset = 0;
  }

  /** Counts `bytes` against the budget; past it, the rest of this reply is skipped. */
  private spend(bytes: number): void {
    const budget = this.budget!;
    budget.left -= bytes;
    if (budget.left < 0) this.startSkipping();
  }

  private startSkipping(): void {
    if (this.skipping) return;
    this.budget!.exceeded = true;
    this.skipping = true;
    // What was gathered of this reply goes now, not when its last element arrives.
    for (const open of this.stack) open.items = [];
  }

  /** Attaches a finished value to its parent array, closing every array it completes. */
  private complete(value: Reply): void {
    let current = value;
    for (;;) {
      const parent = this.stack[this.stack.length - 1];
      if (!parent) {
        const skipped = this.skipping;
        this.skipping = false;
        this.onReply(skipped ? SKIPPED : current);
        return;
      }
      if (!this.skipping) parent.items.push(current);
      if (--parent.remaining > 0) return;
      this.stack.pop();
      current = parent.items;
    }
  }

  /** Keeps the unparsed tail; if a bulk string's length is known, waits for all of it at once. */
  private holdFrom(start: number): void {
    const tail = this.buffer.subarray(start);
    this.buffer = EMPTY;
    this.offset = 0;
    const needed = bulkLength(tail);
    if (needed > 0 && needed > tail.length) {
      this.held = [tail];
      this.heldBytes = tail.length;
      this.neededBytes = needed;
    } else {
      this.buffer = tail;
    }
  }

  /** Parses one element at `start`; an array header opens a new level and returns OPENED. */
  private element(buffer: Buffer, start: number, end: number): Reply | typeof INCOMPLETE | typeof OPENED {
    const lineEnd = findCrlf(buffer, start + 1, end);
    if (lineEnd < 0) return INCOMPLETE;
    const type = buffer[start];
    switch (type) {
      case SIMPLE_STRING: {
        this.offset = lineEnd + 2;
        return buffer.toString(this.encoding, start + 1, lineEnd);
      }
      case ERROR: {
        this.offset = lineEnd + 2;
        const message = buffer.toString('utf8', start + 1, lineEnd);
        const encoded = this.encoding === 'base64' ? buffer.toString('base64', start + 1, lineEnd) : message;
        return new RedisErrorReply(message, encoded);
      }
      case INTEGER: {
        this.offset = lineEnd + 2;
        const value = parseInteger(buffer, start + 1, lineEnd);
        if (Number.isSafeInteger(value)) return value;
        return new BigIntegerReply(buffer.toString('latin1', start + 1, lineEnd));
      }
      case BULK_STRING: {
        const length = parseInteger(buffer, start + 1, lineEnd);
        if (length < 0) {
          this.offset = lineEnd + 2;
          return null;
        }
        const dataStart = lineEnd + 2;
        const dataEnd = dataStart + length;
        // Over budget already from its header: skipped before a byte of it is gathered.
        if (this.budget !== null && dataEnd + 2 - start > this.budget.left) this.startSkipping();
        if (this.skipping) {
          // Skipped strings are dropped as they arrive, never held.
          this.offset = Math.min(end, dataEnd + 2);
          this.skipBytes = dataEnd + 2 - this.offset;
          return SKIPPED;
        }
        if (dataEnd + 2 > end) return INCOMPLETE;
        this.offset = dataEnd + 2;
        return buffer.toString(this.encoding, dataStart, dataEnd);
      }
      case ARRAY: {
        const count = parseInteger(buffer, start + 1, lineEnd);
        this.offset = lineEnd + 2;
        if (count < 0) return null;
        if (count === 0) return [];
        this.stack.push({ items: [] as Reply[], remaining: count });
        return OPENED;
      }
      default:
        throw new ProtocolError(`unexpected type byte 0x${(type ?? 0).toString(16)}`);
    }
  }
}

const INCOMPLETE = Symbol('incomplete');
const OPENED = Symbol('opened');

function findCrlf(buffer: Buffer, from: number, end: number): number {
  const at = buffer.indexOf(CR, from);
  if (at < 0 || at + 1 >= end) return -1;
  if (buffer[at + 1] !== 10) throw new ProtocolError('a CR not followed by LF');
  return at;
}

function parseInteger(buffer: Buffer, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (buffer[i] === 0x2d /* '-' */) {
    negative = true;
    i++;
  }
  if (i >= end) throw new ProtocolError('an empty number');
  let value = 0;
  for (; i < end; i++) {
    const digit = buffer[i]! - 48;
    if (digit < 0 || digit > 9)
      throw new ProtocolError(`a bad number "${buffer.toString('latin1', start, end)}"`);
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/** For a tail starting with a complete `$n` header: the bytes the whole bulk string takes. */
function bulkLength(tail: Buffer): number {
  if (tail[0] !== BULK_STRING) return 0;
  const lineEnd = tail.indexOf(CR, 1);
  if (lineEnd < 0 || lineEnd + 1 >= tail.length) return 0;
  const length = parseInteger(tail, 1, lineEnd);
  return length < 0 ? 0 : lineEnd + 2 + length + 2;
}

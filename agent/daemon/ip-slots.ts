// Slot numbers for IPs, so that what the daemon keeps per IP lives in a few typed arrays indexed by
// slot instead of an object (and its boxed numbers) per IP: at 10,000 targets the objects cost more
// than the figures they hold. A forgotten IP's slot goes to the next new IP, so the arrays stay as
// long as the most IPs probed at once.

export class IpSlots {
  private readonly slots = new Map<string, number>();
  private readonly freed: number[] = [];
  private span = 0;
  /** Slots planned for by `expect`: what per-slot arrays are sized for when they must grow. */
  private planned = 0;

  get size(): number {
    return this.slots.size;
  }

  /** One more than the highest slot handed out: how long a per-slot array must be. */
  get length(): number {
    return this.span;
  }

  /** How long a per-slot array should be made when it must grow (see `fitted`). */
  get room(): number {
    return Math.max(this.span, this.planned);
  }

  /**
   * Plans for a run's IPs before they are added: arrays that must grow for them then grow once, to
   * what they need, instead of by half again per step, each step a copy left to the garbage
   * collector (at 10,000 new targets those copies were some 10 MB at the first run). Returns how
   * many of them are new.
   */
  expect(items: readonly { readonly ip: string }[]): number {
    let fresh = 0;
    for (const item of items) if (!this.slots.has(item.ip)) fresh++;
    this.planned = this.span + Math.max(0, fresh - this.freed.length);
    return fresh;
  }

  slotOf(ip: string): number | undefined {
    return this.slots.get(ip);
  }

  /** The IP's slot; a new IP takes a freed slot if there is one. */
  add(ip: string): number {
    const known = this.slots.get(ip);
    if (known !== undefined) return known;
    const slot = this.freed.pop() ?? this.span++;
    this.slots.set(ip, slot);
    return slot;
  }

  /** The IP's slot, now free; undefined when it had none. */
  remove(ip: string): number | undefined {
    const slot = this.slots.get(ip);
    if (slot === undefined) return undefined;
    this.slots.delete(ip);
    this.freed.push(slot);
    return slot;
  }

  /** Every IP and its slot, in the order the IPs were added. */
  entries(): IterableIterator<[string, number]> {
    return this.slots.entries();
  }

  ips(): IterableIterator<string> {
    return this.slots.keys();
  }

  clear(): void {
    this.slots.clear();
    this.freed.length = 0;
    this.span = 0;
    this.planned = 0;
  }
}

type NumberArray = Float64Array | Int32Array | Uint16Array | Uint8Array;

/**
 * The array itself while it holds `length` elements, else a longer copy (new elements set to
 * `fill`): `room` long when that is enough (the size planned for, see IpSlots.expect), else half as
 * long again, so that growing slot by slot copies only a logarithmic number of times and leaves at
 * most a third of the array unused.
 */
export function fitted<T extends NumberArray>(array: T, length: number, fill = 0, room = 0): T {
  if (array.length >= length) return array;
  const longer = room >= length ? room : Math.max(length, Math.ceil(array.length * 1.5), 16);
  const grown = new (array.constructor as new (n: number) => T)(longer);
  grown.set(array);
  if (fill !== 0) grown.fill(fill, array.length);
  return grown;
}

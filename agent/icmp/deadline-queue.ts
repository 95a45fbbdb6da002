// Timeouts without a timer per packet. Probes sharing one timeout value expire in the order they
// were sent, so each timeout value gets a FIFO ring of (deadline, sequence, serial); the earliest
// deadline overall is the smallest ring head. A few distinct timeouts at once (concurrent jobs)
// means a few rings, never a heap.

class Ring {
  constructor(readonly timeout: number) {}

  private deadlines = new Float64Array(1024);
  private seqs = new Uint16Array(1024);
  private serials = new Float64Array(1024);
  private head = 0;
  size = 0;

  push(deadline: number, seq: number, serial: number): void {
    if (this.size === this.deadlines.length) this.grow();
    const at = (this.head + this.size) & (this.deadlines.length - 1);
    this.deadlines[at] = deadline;
    this.seqs[at] = seq;
    this.serials[at] = serial;
    this.size++;
  }

  peekDeadline(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : this.deadlines[this.head]!;
  }

  /** Pops the head into `out` ([seq, serial]). */
  shift(out: [number, number]): void {
    out[0] = this.seqs[this.head]!;
    out[1] = this.serials[this.head]!;
    this.head = (this.head + 1) & (this.deadlines.length - 1);
    this.size--;
  }

  private grow(): void {
    const n = this.deadlines.length;
    const deadlines = new Float64Array(n * 2);
    const seqs = new Uint16Array(n * 2);
    const serials = new Float64Array(n * 2);
    for (let i = 0; i < this.size; i++) {
      const from = (this.head + i) & (n - 1);
      deadlines[i] = this.deadlines[from]!;
      seqs[i] = this.seqs[from]!;
      serials[i] = this.serials[from]!;
    }
    this.deadlines = deadlines;
    this.seqs = seqs;
    this.serials = serials;
    this.head = 0;
  }
}

export class DeadlineQueue {
  private readonly byTimeout = new Map<number, Ring>();
  // The same rings in an array: expiring walks them once per entry, and index loops allocate no
  // iterator.
  private readonly rings: Ring[] = [];
  private readonly popped: [number, number] = [0, 0];

  /** `timeout` picks the ring; deadlines pushed to one ring must not decrease. */
  push(timeout: number, deadline: number, seq: number, serial: number): void {
    let ring = this.byTimeout.get(timeout);
    if (!ring) {
      ring = new Ring(timeout);
      this.byTimeout.set(timeout, ring);
      this.rings.push(ring);
    }
    ring.push(deadline, seq, serial);
  }

  /** The earliest deadline queued, Infinity when empty. */
  next(): number {
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.rings.length; i++) min = Math.min(min, this.rings[i]!.peekDeadline());
    return min;
  }

  /**
   * Calls `expire(seq, serial)` for every entry whose deadline is at or before `now`, earliest
   * deadline first across all rings.
   */
  expireUntil(now: number, expire: (seq: number, serial: number) => void): void {
    const rings = this.rings;
    for (;;) {
      let earliest: Ring | null = null;
      let at = now;
      for (let i = 0; i < rings.length; i++) {
        const deadline = rings[i]!.peekDeadline();
        if (deadline <= at) {
          earliest = rings[i]!;
          at = deadline;
        }
      }
      if (!earliest) break;
      earliest.shift(this.popped);
      expire(this.popped[0], this.popped[1]);
    }
    for (let i = rings.length - 1; i >= 0; i--) {
      const ring = rings[i]!;
      if (ring.size > 0) continue;
      rings.splice(i, 1);
      this.byTimeout.delete(ring.timeout);
    }
  }

  get size(): number {
    let n = 0;
    for (let i = 0; i < this.rings.length; i++) n += this.rings[i]!.size;
    return n;
  }
}

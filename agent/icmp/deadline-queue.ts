// Timeouts without a timer per packet. Probes sharing one timeout value expire in the order they
// were sent, so each timeout value gets a FIFO ring of (deadline, sequence, serial); the earliest
// deadline overall is the smallest ring head. A few distinct timeouts at once (concurrent jobs)
// means a few rings, never a heap.

class Ring {
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
  private readonly rings = new Map<number, Ring>();
  private readonly popped: [number, number] = [0, 0];

  /** `timeout` picks the ring; deadlines pushed to one ring must not decrease. */
  push(timeout: number, deadline: number, seq: number, serial: number): void {
    let ring = this.rings.get(timeout);
    if (!ring) {
      ring = new Ring();
      this.rings.set(timeout, ring);
    }
    ring.push(deadline, seq, serial);
  }

  /** The earliest deadline queued, Infinity when empty. */
  next(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const ring of this.rings.values()) min = Math.min(min, ring.peekDeadline());
    return min;
  }

  /** Calls `expire(seq, serial)` for every entry whose deadline is at or before `now`. */
  expireUntil(now: number, expire: (seq: number, serial: number) => void): void {
    for (const [timeout, ring] of this.rings) {
      while (ring.peekDeadline() <= now) {
        ring.shift(this.popped);
        expire(this.popped[0], this.popped[1]);
      }
      if (ring.size === 0) this.rings.delete(timeout);
    }
  }

  get size(): number {
    let n = 0;
    for (const ring of this.rings.values()) n += ring.size;
    return n;
  }
}

import { fitted } from './ip-slots.ts';

// Many short lists of numeric records (one list per IP slot: the RTTs of its current minute, its
// samples in the loss window, the points of its open history blocks) kept in one shared
// Float64Array, in chunks of a few records taken from a common pool and given back when emptied.
// A list costs the chunks it fills, not an array object with boxed numbers per record.
//
// A record is `width` consecutive numbers starting at the index `push` and `forEach` give; read and
// write them through `data` right away (it is replaced when the pool grows).

const NONE = -1;

export class RecordLists {
  data: Float64Array;
  /** Per chunk: the next chunk of its list, or the next free chunk. */
  private next: Int32Array;
  private chunks = 0;
  private freeChunk = NONE;
  private inUse = 0;
  /** Lists and chunks planned for by `expect`: what the arrays grow to when they must grow. */
  private listRoom = 0;
  private chunkRoom = 0;
  /** Per list: its first and last chunk, where its first record sits in the first chunk, how many. */
  private head = new Int32Array(0);
  private tail = new Int32Array(0);
  private first = new Int32Array(0);
  private count = new Int32Array(0);

  constructor(
    private readonly width: number,
    private readonly chunkRecords: number,
  ) {
    this.data = new Float64Array(16 * chunkRecords * width);
    this.next = new Int32Array(16);
  }

  /**
   * Plans for `lists` lists in all and `moreChunks` more chunks in use (one per list about to get
   * its first record): growing for them then copies the arrays once (see IpSlots.expect).
   */
  expect(lists: number, moreChunks: number): void {
    this.listRoom = lists;
    this.chunkRoom = this.inUse + moreChunks;
  }

  /** Chunks holding records now (for tests and accounting). */
  get chunksInUse(): number {
    return this.inUse;
  }

  length(list: number): number {
    return list < this.count.length ? this.count[list]! : 0;
  }

  /** Appends a record to a list; answers the index of its first number in `data`. */
  push(list: number): number {
    this.fit(list);
    const C = this.chunkRecords;
    const n = this.count[list]!;
    let end = this.first[list]! + n;
    if (n === 0) {
      const chunk = this.takeChunk();
      this.head[list] = chunk;
      this.tail[list] = chunk;
      this.first[list] = 0;
      end = 0;
    } else if (end % C === 0) {
      const chunk = this.takeChunk();
      this.next[this.tail[list]!] = chunk;
      this.tail[list] = chunk;
    }
    this.count[list] = n + 1;
    return (this.tail[list]! * C + (end % C)) * this.width;
  }

  /** Index in `data` of the list's first record; -1 when it is empty. */
  firstAt(list: number): number {
    if (this.length(list) === 0) return NONE;
    return (this.head[list]! * this.chunkRecords + this.first[list]!) * this.width;
  }

  /** Drops the list's first record. */
  shift(list: number): void {
    const n = this.length(list);
    if (n === 0) return;
    this.count[list] = n - 1;
    if (n === 1) {
      this.giveChunk(this.head[list]!);
      this.head[list] = NONE;
      this.tail[list] = NONE;
      this.first[list] = 0;
      return;
    }
    const first = this.first[list]! + 1;
    if (first < this.chunkRecords) {
      this.first[list] = first;
      return;
    }
    const old = this.head[list]!;
    this.head[list] = this.next[old]!;
    this.giveChunk(old);
    this.first[list] = 0;
  }

  /** Calls `visit` with the index in `data` of each record, oldest first. */
  forEach(list: number, visit: (at: number) => void): void {
    const n = this.length(list);
    const C = this.chunkRecords;
    let chunk = n > 0 ? this.head[list]! : NONE;
    let offset = n > 0 ? this.first[list]! : 0;
    for (let i = 0; i < n; i++) {
      visit((chunk * C + offset) * this.width);
      if (++offset === C) {
        chunk = this.next[chunk]!;
        offset = 0;
      }
    }
  }

  /** Copies field `field` of the list's records, oldest first, into `out` (as long as the list). */
  copyTo(list: number, out: Float64Array, field = 0): void {
    let i = 0;
    this.forEach(list, (at) => {
      out[i++] = this.data[at + field]!;
    });
  }

  /** Field `field` of every record, oldest first. */
  values(list: number, field = 0): number[] {
    const out: number[] = [];
    this.forEach(list, (at) => out.push(this.data[at + field]!));
    return out;
  }

  /** Empties a list, its chunks back to the pool. */
  clear(list: number): void {
    let n = this.length(list);
    if (n === 0) return;
    let chunk = this.head[list]!;
    // One chunk per `chunkRecords` positions from the first chunk's start, the last one partly filled.
    n += this.first[list]!;
    while (n > 0) {
      const following = this.next[chunk]!;
      this.giveChunk(chunk);
      chunk = following;
      n -= this.chunkRecords;
    }
    this.count[list] = 0;
    this.head[list] = NONE;
    this.tail[list] = NONE;
    this.first[list] = 0;
  }

  private fit(list: number): void {
    if (list < this.count.length) return;
    this.head = fitted(this.head, list + 1, NONE, this.listRoom);
    this.tail = fitted(this.tail, list + 1, NONE, this.listRoom);
    this.first = fitted(this.first, list + 1, 0, this.listRoom);
    this.count = fitted(this.count, list + 1, 0, this.listRoom);
  }

  private takeChunk(): number {
    this.inUse++;
    if (this.freeChunk !== NONE) {
      const chunk = this.freeChunk;
      this.freeChunk = this.next[chunk]!;
      return chunk;
    }
    if (this.chunks === this.next.length) {
      this.next = fitted(this.next, this.chunks + 1, 0, this.chunkRoom);
      this.data = fitted(this.data, this.next.length * this.chunkRecords * this.width);
    }
    return this.chunks++;
  }

  private giveChunk(chunk: number): void {
    this.inUse--;
    this.next[chunk] = this.freeChunk;
    this.freeChunk = chunk;
  }
}

// An ordered list of unique items kept as a list of sorted blocks (a flat B-tree of depth two):
// binary search over the blocks' last items, then inside a block. Inserting or removing moves at
// most one block's worth of pointers, so building an index in random key order stays
// O(n log n + n * BLOCK) instead of the O(n^2) of one big sorted array.
//
// Every mutation bumps `version`; a reader that paused (a cursor between batches, a time slice)
// compares versions and re-seeks from the last item it returned instead of trusting a position.

/** Items per block before it splits in two. */
const BLOCK = 512;

/** Where an item sits: block number and offset inside the block. */
export interface ListPosition {
  readonly block: number;
  readonly offset: number;
}

export class SortedList<T> {
  #blocks: T[][] = [];
  #size = 0;
  #version = 0;
  /** Prefix sums of block lengths, rebuilt lazily after a mutation (for rank and counting). */
  #starts: number[] | undefined;
  readonly #compare: (a: T, b: T) => number;

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  get size(): number {
    return this.#size;
  }

  get version(): number {
    return this.#version;
  }

  /** Inserts `item` (items are unique under the comparator; an equal item is replaced). */
  insert(item: T): void {
    this.#touch();
    if (this.#blocks.length === 0) {
      this.#blocks.push([item]);
      this.#size = 1;
      return;
    }
    const b = this.#blockFor(item);
    const block = this.#blocks[b] as T[];
    const offset = this.#searchBlock(block, item);
    if (offset < block.length && this.#compare(block[offset] as T, item) === 0) {
      block[offset] = item;
      return;
    }
    block.splice(offset, 0, item);
    this.#size++;
    if (block.length > BLOCK * 2) this.#blocks.splice(b, 1, block.slice(0, BLOCK), block.slice(BLOCK));
  }

  /** Removes the item equal to `item`; false when there is none. */
  remove(item: T): boolean {
    if (this.#blocks.length === 0) return false;
    const b = this.#blockFor(item);
    const block = this.#blocks[b] as T[];
    const offset = this.#searchBlock(block, item);
    if (offset >= block.length || this.#compare(block[offset] as T, item) !== 0) return false;
    this.#touch();
    block.splice(offset, 1);
    this.#size--;
    if (block.length === 0) this.#blocks.splice(b, 1);
    return true;
  }

  clear(): void {
    this.#touch();
    this.#blocks = [];
    this.#size = 0;
  }

  /**
   * The first position whose item has `probe(item) >= 0` (probe must be monotone: negative for
   * items before the target, then zero or positive); undefined when every item is before it.
   */
  lowerBound(probe: (item: T) => number): ListPosition | undefined {
    const blocks = this.#blocks;
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = blocks[mid] as T[];
      if (probe(block[block.length - 1] as T) >= 0) hi = mid;
      else lo = mid + 1;
    }
    if (lo === blocks.length) return undefined;
    const block = blocks[lo] as T[];
    let a = 0;
    let z = block.length - 1;
    while (a < z) {
      const mid = (a + z) >>> 1;
      if (probe(block[mid] as T) >= 0) z = mid;
      else a = mid + 1;
    }
    return { block: lo, offset: a };
  }

  /** The last position whose item has `probe(item) <= 0` (same monotone probe); undefined if none. */
  lastAtOrBefore(probe: (item: T) => number): ListPosition | undefined {
    const after = this.lowerBound((item) => (probe(item) > 0 ? 1 : -1));
    if (after === undefined) return this.last();
    return this.step(after, -1);
  }

  first(): ListPosition | undefined {
    return this.#blocks.length === 0 ? undefined : { block: 0, offset: 0 };
  }

  last(): ListPosition | undefined {
    const n = this.#blocks.length;
    if (n === 0) return undefined;
    return { block: n - 1, offset: (this.#blocks[n - 1] as T[]).length - 1 };
  }

  at(position: ListPosition): T {
    return (this.#blocks[position.block] as T[])[position.offset] as T;
  }

  /** The next position in `direction` (1 forward, -1 backward); undefined past either end. */
  step(position: ListPosition, direction: 1 | -1): ListPosition | undefined {
    const block = this.#blocks[position.block] as T[];
    const offset = position.offset + direction;
    if (offset >= 0 && offset < block.length) return { block: position.block, offset };
    const next = position.block + direction;
    if (next < 0 || next >= this.#blocks.length) return undefined;
    return { block: next, offset: direction === 1 ? 0 : (this.#blocks[next] as T[]).length - 1 };
  }

  /** The number of items before `position` (its index in the whole list). */
  rank(position: ListPosition): number {
    if (this.#starts === undefined) {
      const starts: number[] = [];
      let total = 0;
      for (const block of this.#blocks) {
        starts.push(total);
        total += block.length;
      }
      this.#starts = starts;
    }
    return (this.#starts[position.block] ?? 0) + position.offset;
  }

  *values(): Generator<T> {
    for (const block of this.#blocks) yield* block;
  }

  #touch(): void {
    this.#version++;
    this.#starts = undefined;
  }

  /** The block `item` belongs in: the first whose last item is >= it, else the last block. */
  #blockFor(item: T): number {
    const blocks = this.#blocks;
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = blocks[mid] as T[];
      if (this.#compare(block[block.length - 1] as T, item) >= 0) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  #searchBlock(block: T[], item: T): number {
    let lo = 0;
    let hi = block.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compare(block[mid] as T, item) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

import type { KeyIdentity } from '../shared/rows.js';

/**
 * The last row index of every key seen so far: the planner's only memory that grows
 * with the file. Integer keys (the common case, `keyIdentity` makes every integer
 * key below 10^15 a number) live in an open-addressing hash table of typed arrays,
 * about 12 bytes per slot instead of the ~43 bytes per entry of a Map, split in
 * shards by hash so that a shard's growth (old and new arrays side by side for a
 * moment) briefly adds 1/16 of the index, not all of it, to the peak memory.
 * Other keys live in Maps, sharded because one V8 Map holds at most 2^24 entries.
 */
export class KeyIndex {
  private readonly integers: IntegerKeyTable[];
  private readonly others = Array.from(
    { length: STRING_SHARDS },
    () => new Map<string | number, number>(),
  );

  /** @param expectedKeys how many keys to make room for at once (more still fit: the index grows) */
  constructor(expectedKeys = 0) {
    const perShard = Math.ceil(expectedKeys / INTEGER_SHARDS / MAX_LOAD);
    this.integers = Array.from(
      { length: INTEGER_SHARDS },
      () => new IntegerKeyTable(Math.max(INTEGER_SHARD_CAPACITY, perShard)),
    );
  }

  /** Records `row` as the key's latest row and returns the previous one, if any. */
  set(key: KeyIdentity, row: number): number | undefined {
    if (typeof key === 'number' && Number.isSafeInteger(key)) {
      const hash = hashInteger(key);
      // The top bits pick the shard; a shard's slots use the low bits (shards stay below 2^28 slots).
      const shard = this.integers[hash >>> INTEGER_SHARD_SHIFT] as IntegerKeyTable;
      return shard.set(key, row, hash);
    }
    const shard = this.others[shardOf(key)] as Map<string | number, number>;
    const previous = shard.get(key);
    shard.set(key, row);
    return previous;
  }

  /** Forgets every key, keeping the memory for the next use. */
  clear(): void {
    for (const shard of this.integers) shard.clear();
    for (const shard of this.others) shard.clear();
  }

  /** Distinct keys recorded. */
  get size(): number {
    let total = 0;
    for (const shard of this.integers) total += shard.size;
    for (const shard of this.others) total += shard.size;
    return total;
  }
}

const STRING_SHARDS = 16;
/** Largest share of an integer table's slots in use before it grows. */
const MAX_LOAD = 0.75;
/** Factor by which an integer table's slots grow. */
const GROWTH = 1.5;
const INTEGER_SHARDS = 16;
/** 32 bits of hash minus the 4 that pick one of the 16 shards. */
const INTEGER_SHARD_SHIFT = 28;
/** Slots each integer shard starts with (16 × 256 = the 4,096 of one unsharded table). */
const INTEGER_SHARD_CAPACITY = 256;

function shardOf(key: string | number): number {
  const text = String(key);
  let hash = 0;
  for (let at = Math.max(0, text.length - 8); at < text.length; at++) {
    hash = (Math.imul(hash, 31) + text.charCodeAt(at)) | 0;
  }
  return (hash >>> 0) % STRING_SHARDS;
}

/** Linear-probing hash table from safe integers to row indexes (rows below 2^31). */
export class IntegerKeyTable {
  private keys: Float64Array<ArrayBuffer>;
  private rows: Int32Array<ArrayBuffer>;
  private count = 0;

  constructor(capacity = 1 << 12) {
    const slots = Math.max(16, Math.ceil(capacity));
    this.keys = new Float64Array(slots).fill(Number.NaN);
    this.rows = new Int32Array(slots);
  }

  /** Records `row` for `key` (whose hashInteger is `hash`) and returns the key's previous row, if any. */
  set(key: number, row: number, hash = hashInteger(key)): number | undefined {
    if (row > 0x7fffffff) throw new RangeError('row index beyond 2^31');
    // Keep the load factor at most MAX_LOAD so probe sequences stay short.
    if (this.count + 1 > this.keys.length * MAX_LOAD) this.grow();
    const { keys } = this;
    const slots = keys.length;
    // The low 28 bits: KeyIndex picks a shard with the top 4.
    let slot = (hash & 0x0fffffff) % slots;
    for (;;) {
      const existing = keys[slot] as number;
      if (Number.isNaN(existing)) {
        keys[slot] = key;
        this.rows[slot] = row;
        this.count++;
        return undefined;
      }
      if (existing === key) {
        const previous = this.rows[slot];
        this.rows[slot] = row;
        return previous;
      }
      slot = slot + 1 === slots ? 0 : slot + 1;
    }
  }

  get size(): number {
    return this.count;
  }

  /** Forgets every key, keeping the slots. */
  clear(): void {
    this.keys.fill(Number.NaN);
    this.count = 0;
  }

  private grow(): void {
    const { keys, rows } = this;
    // Growing by half, not doubling, keeps the slots in use between MAX_LOAD / GROWTH and
    // MAX_LOAD (50–75%) instead of 35–70%: the index of a million keys takes some 4 MB less.
    const slots = Math.ceil(keys.length * GROWTH);
    this.keys = new Float64Array(slots).fill(Number.NaN);
    this.rows = new Int32Array(slots);
    this.count = 0;
    for (let slot = 0; slot < keys.length; slot++) {
      const key = keys[slot] as number;
      if (!Number.isNaN(key)) this.set(key, rows[slot] as number, hashInteger(key));
    }
    // The old arrays are dead now, but their memory (outside the V8 heap) would only
    // be returned at the next full GC, which a small old generation makes rare:
    // detaching them returns it at once, so growth never holds two generations.
    keys.buffer.transfer(0);
    rows.buffer.transfer(0);
  }
}

/** A well-mixed 32-bit hash of a safe integer (both halves count: ISBNs differ in low digits). */
function hashInteger(key: number): number {
  const low = (key % 0x100000000) | 0;
  const high = Math.floor(key / 0x100000000) | 0;
  let hash = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

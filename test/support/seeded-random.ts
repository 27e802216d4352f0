/**
 * A small seeded pseudo-random generator (a linear congruential one) for generated
 * test inputs: every run checks the same inputs, and a failing one can be replayed.
 * Returns numbers in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x80000000;
  };
}

/** One of `items`, chosen by `random`. */
export function pickWith<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/**
 * Runs every contender once per round, in turn, so noise on a shared machine hits
 * each of them alike. Round 0 warms the JIT up and is not kept. Each run returns the
 * records it counted, which must be `expected`. Resolves to each contender's seconds
 * per kept round.
 */
export async function interleavedRounds<Name extends string>(
  contenders: Record<Name, () => Promise<number>>,
  rounds: number,
  expected: number,
): Promise<Record<Name, number[]>> {
  const names = Object.keys(contenders) as Name[];
  const seconds = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
    Name,
    number[]
  >;
  for (let round = 0; round <= rounds; round += 1) {
    for (const name of names) {
      const start = performance.now();
      const count = await contenders[name]();
      const elapsed = (performance.now() - start) / 1000;
      if (count !== expected) {
        throw new Error(`${name} counted ${count} records, expected ${expected}`);
      }
      if (round > 0) seconds[name].push(elapsed);
    }
  }
  return seconds;
}

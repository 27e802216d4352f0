/**
 * A handler module for LambdaRuntime tests: each invocation tells the test's gate it
 * started, then waits until the gate is released, then answers `{ released: true }`.
 */
export interface HeldGate {
  started(): void;
  readonly released: Promise<void>;
}

export async function handler(): Promise<{ released: true }> {
  const gate = (globalThis as { heldGate?: HeldGate }).heldGate;
  if (gate === undefined) throw new Error('no globalThis.heldGate: set one before invoking');
  gate.started();
  await gate.released;
  return { released: true };
}

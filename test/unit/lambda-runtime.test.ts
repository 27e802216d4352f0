import { fileURLToPath } from 'node:url';
import { LambdaRuntime, type LocalFunction } from '../../local/lambda/runtime.js';
import type { HeldGate } from '../support/handlers/held.js';

const held: LocalFunction = {
  name: 'held',
  arn: 'arn:aws:lambda:eu-west-1:000000000000:function:held',
  module: fileURLToPath(new URL('../support/handlers/held.ts', import.meta.url)),
  timeoutSeconds: 60,
  memoryMb: 128,
  env: {},
};

/** A gate the held handler waits on, and a promise of `count` invocations having started. */
function holdInvocations(count: number) {
  const released = Promise.withResolvers<void>();
  const allStarted = Promise.withResolvers<void>();
  let started = 0;
  const gate: HeldGate = {
    started: () => {
      if (++started === count) allStarted.resolve();
    },
    released: released.promise,
  };
  (globalThis as { heldGate?: HeldGate }).heldGate = gate;
  return { started: allStarted.promise, release: () => released.resolve() };
}

describe('LambdaRuntime.drain', () => {
  it('resolves once every running handler has finished, with none left', async () => {
    const runtime = new LambdaRuntime([held]);
    const gate = holdInvocations(1);
    const invocation = runtime.invoke(held, {});
    await gate.started;
    const drained = runtime.drain();
    gate.release();
    await expect(invocation).resolves.toEqual({ ok: true, result: { released: true } });
    await expect(drained).resolves.toBe(0);
  });

  it('stops waiting after its bound and says how many runs are still going', async () => {
    const runtime = new LambdaRuntime([held]);
    const gate = holdInvocations(2);
    const invocations = [runtime.invoke(held, {}), runtime.invoke(held, {})];
    await gate.started;
    await expect(runtime.drain(20)).resolves.toBe(2);
    gate.release();
    await Promise.all(invocations);
    await expect(runtime.drain(20)).resolves.toBe(0);
  });
});

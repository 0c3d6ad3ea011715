/** Small assertions shared by the test files. */
import { expect } from "vitest";
import type { Tracer } from "../index.ts";

/** The largest absolute elementwise difference of two arrays of the same shape. */
export function maxDiff(a: Tracer, b: Tracer): number {
  expect(a.shape).toEqual(b.shape);
  const y = b.dataSync();
  let m = 0;
  a.dataSync().forEach((v, i) => (m = Math.max(m, Math.abs(v - y[i]))));
  return m;
}

/** The collector, when node runs with --expose-gc (vitest.config.ts sets it). */
export const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage and lets FinalizationRegistry callbacks (which run as tasks after a collection) release buffers. */
export async function settle(): Promise<void> {
  for (let k = 0; k < 3; k++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
}

/** Small assertions shared by the test files. */
import { expect } from "vitest";
import type { Tracer } from "../index.ts";
import type { TypedArray } from "../core/dtype.ts";
import type { NDArray } from "../core/array.ts";
import { testBackend } from "./backend-under-test.ts";

function largestGap(x: TypedArray, y: TypedArray): number {
  let m = 0;
  x.forEach((v: number, i: number) => (m = Math.max(m, Math.abs(v - y[i]))));
  return m;
}

/** The largest absolute elementwise difference of two arrays of the same shape (CPU arrays: reads synchronously). */
export function maxDiff(a: Tracer, b: Tracer): number {
  expect(a.shape).toEqual(b.shape);
  return largestGap(a.dataSync(), b.dataSync());
}

/** maxDiff for arrays on any backend (WebGPU reads asynchronously). */
export async function maxDiffAsync(a: Tracer, b: Tracer): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  return largestGap(x, y);
}

/** The single element of a size-1 array on any backend, as a number. */
export async function scalarOf(x: Tracer): Promise<number> {
  expect(x.size).toBe(1);
  return Number((await x.data())[0]);
}

/** Checks that results were computed on the backend under test (not quietly on the CPU). */
export function expectOnTestBackend(...xs: Tracer[]): void {
  for (const x of xs) expect((x as NDArray).backend, "computed on the backend under test").toBe(testBackend);
}

/** The collector, when node runs with --expose-gc (vitest.config.ts sets it). */
export const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Collects garbage and lets FinalizationRegistry callbacks (which run as tasks after a
 * collection) release buffers; long synchronous loops on WebGPU need it now and then.
 */
export async function settle(): Promise<void> {
  for (let k = 0; k < 3; k++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
}

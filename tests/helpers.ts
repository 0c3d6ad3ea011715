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

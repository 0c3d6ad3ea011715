/** Comparing device results with the CPU's. */
import type { TypedArray } from "../../../core/dtype.ts";

const show = (v: number) => (Object.is(v, -0) ? "-0" : String(v));

/**
 * Integers and booleans must match exactly; floats within `tol` relative to the larger of 1
 * and the reference (0: bit for bit); NaN matches NaN. Returns a message on mismatch.
 */
export function compareValues(got: TypedArray, want: TypedArray, float: boolean, tol: number): string | null {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const a = got[i],
      b = want[i];
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (!float || tol === 0) return `element ${i} is ${show(a)}, expected ${show(b)}${float ? " (bit for bit)" : ""}`;
    if (!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)))) return `element ${i} is ${show(a)}, expected ${show(b)} (tol ${tol})`;
  }
  return null;
}

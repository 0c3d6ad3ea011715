/**
 * sort and argsort on the CPU: a stable sort of each line along the axis (NaN last, as NumPy).
 */
import { isFloat, type TypedArray } from "../../../dtype.ts";
import { stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import type { CpuRoutine, CpuRoutines } from "./registry.ts";

const sort: CpuRoutine<"sort"> = ([x], [out], { axis }, [xa]) => {
  forEachSortedLine(x, xa, axis, (perm, vals, base, stride) => {
    for (let k = 0; k < perm.length; k++) out[base + k * stride] = vals[perm[k]];
  });
};

const argsort: CpuRoutine<"argsort"> = ([x], [out], { axis }, [xa]) => {
  forEachSortedLine(x, xa, axis, (perm, _vals, base, stride) => {
    for (let k = 0; k < perm.length; k++) out[base + k * stride] = perm[k];
  });
};

/** a before b in sort order: numeric less-than, with NaN after every number. */
function before(a: number, b: number): boolean {
  return a < b || (b !== b && a === a);
}

/**
 * Visits every line along `axis` of an array of `shape`; for each, hands `emit` the line's
 * stable sorting permutation and the flat offsets of its elements.
 */
function forEachSortedLine(x: TypedArray, xa: ShapedArray, axis: number, emit: (perm: Uint32Array, vals: Float64Array, base: number, stride: number) => void): void {
  const n = xa.shape[axis];
  const stride = stridesOf(xa.shape)[axis];
  const outer = n === 0 ? 0 : x.length / (n * stride);
  const vals = new Float64Array(n);
  const perm = new Uint32Array(n);
  const packed = new Float64Array(isFloat(xa.dtype) ? 0 : n);
  // Ties fall back to the original position, so the order is stable whatever sort V8 uses.
  const cmp = (i: number, j: number) => (before(vals[i], vals[j]) ? -1 : before(vals[j], vals[i]) ? 1 : i - j);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < stride; j++) {
      const base = o * n * stride + j;
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = 0; k < n; k++) {
        const v = (vals[k] = x[base + k * stride]);
        perm[k] = k;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (packed.length > 0 && (hi - lo + 1) * n <= 2 ** 53) {
        // Integers: sort (value - lo) * n + index as plain doubles (exact below 2^53), which
        // is stable by construction and several times faster than a comparator sort.
        for (let k = 0; k < n; k++) packed[k] = (vals[k] - lo) * n + k;
        packed.sort();
        for (let k = 0; k < n; k++) perm[k] = packed[k] % n;
      } else {
        perm.sort(cmp);
      }
      emit(perm, vals, base, stride);
    }
  }
}

export const sortRoutines: CpuRoutines<"sort" | "argsort"> = { sort, argsort };

/**
 * Per-primitive test cases. Every registered primitive must have a case (or be listed as
 * exempt with a reason) so the property suite covers it automatically.
 */
import { fromTyped, NDArray } from "../../core/array.ts";
import type { DType } from "../../core/dtype.ts";
import type { Params } from "../../core/primitive.ts";
import { sizeOf } from "../../core/shape.ts";

/** A small deterministic PRNG (mulberry32) for test data; seeds come from fast-check. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo = -1, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length)];
  }
  shape(maxRank = 3, maxDim = 4, minRank = 0): number[] {
    const r = this.int(minRank, maxRank + 1);
    return Array.from({ length: r }, () => this.int(1, maxDim + 1));
  }
  /** A random array; floats in [lo, hi), ints in [lo, hi). */
  array(shape: number[], dtype: DType = "float64", lo = -1, hi = 1): NDArray {
    const n = sizeOf(shape);
    const C = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array }[dtype];
    const data = new C(n);
    for (let i = 0; i < n; i++) {
      data[i] = dtype === "bool" ? (this.next() < 0.5 ? 1 : 0) : dtype === "int32" || dtype === "uint32" ? this.int(lo, hi) : this.uniform(lo, hi);
    }
    return fromTyped(data, shape, dtype);
  }
}

export interface PrimCase {
  /** The primitive's registered name. */
  prim: string;
  /** Valid random inputs (float64 for float operands, so finite differences are precise) and params. */
  make(rng: Rng): { args: NDArray[]; params: Params };
  /** Inputs to differentiate (default: every float input). */
  diffArgs?: number[];
  /** Checks that do not apply, each with the reason printed by the suite. */
  skip?: Partial<Record<"jvp" | "grad" | "vmap" | "jit" | "transpose", string>>;
  /** For linear primitives: the inputs in which the primitive is linear (others held fixed). */
  linearArgs?: number[];
  /** Params for a backend computing in `dtype` (WebGPU: float32), for params that hold programs typed by the drawn inputs. */
  deviceParams?(params: Params, dtype: DType): Params;
  /** Relative tolerance of derivative checks (default 1e-6 in float64). */
  tol?: number;
}

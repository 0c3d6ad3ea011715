/**
 * Default tolerances of the checks, per dtype (and so per backend: WebGPU computes in
 * float32, the CPU in float64 when asked). They are absolute, for outputs of order one
 * (probabilities, normalised logits); scale them with the size of your outputs. Why these
 * values (docs/testing.md says more):
 * - float64: an exactly invariant model (averaged over a finite group, or built from
 *   invariant operations) differs from f(x) only by the order of its sums: a few ulp of
 *   2.2e-16 times the number of terms, far below 1e-9 for any layer we know.
 * - float32: the same rounding at 1.2e-7 per operation, through a few thousand-term dot
 *   products and a few layers, stays near 1e-5; 1e-4 leaves a margin. WebGPU adds fused,
 *   reordered sums and float32 warps (1e-6 of a pixel), still well inside it.
 * - float16 (where a backend has it): 1e-3 per operation, so 1e-2.
 * Transforms that resample (rotations by other than multiples of 90 degrees, scalings) are
 * never exact on a pixel grid: their interpolation error is a property of the data, not
 * of the model, and the measures report it separately.
 */
import type { DType } from "../index.ts";

const TOLERANCES: Partial<Record<string, number>> = { float64: 1e-9, float32: 1e-4, float16: 1e-2 };

/**
 * The default absolute tolerance for outputs of `dtype`.
 * @example check.defaultTolerance("float32") // 1e-4
 */
export function defaultTolerance(dtype: DType): number {
  // Integer and boolean outputs (class indices, masks) must match exactly.
  return TOLERANCES[dtype] ?? 0;
}

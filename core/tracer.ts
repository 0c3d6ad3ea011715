/**
 * The value every operation takes and returns. Concrete arrays (`NDArray`) and the
 * transformations' tracers all extend `Tracer`, so user code is written once and runs
 * eagerly, under `grad`, under `vmap` and while being staged by `jit`.
 *
 * Import `Tracer` from here, never from tracer-class.ts. Its numpy-style methods (`x.add(y)`)
 * call np, and np's modules define the classes that extend `Tracer`, so the class must exist
 * before np loads. This module loads the class first and np second (the order of the two
 * exports below matters); the class reads np through this module when a method runs. A
 * module that entered the cycle at tracer-class.ts would load np first and fail.
 */
import type { DType } from "./dtype.ts";
import { fmtShape } from "./shape.ts";
import type { Tracer } from "./tracer-class.ts";

export { Tracer } from "./tracer-class.ts";
export * as np from "./np.ts";

export interface ShapedArray {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export function fmtAval(a: ShapedArray): string {
  return `${a.dtype}${fmtShape(a.shape)}`;
}

export function concretizationError(t: Tracer, what: string): Error {
  return new Error(
    `Cannot ${what}: the array ${fmtAval(t.aval)} is abstract here (it is being traced by ` +
      `${t.main?.traceType.name ?? "a transformation"}). JS control flow (if/while/?:) cannot depend on traced values; ` +
      `use np.where, lax.cond, lax.scan or lax.forLoop instead, or mark the argument static with jit's staticArgnums.`,
  );
}

/** Closeness tests. */
import { asArray, type ArrayLike } from "../convert.ts";
import type { Tracer } from "../tracer.ts";
import { abs, astype, isFinite, lessEqual, logicalAnd, logicalOr, equal, mul, add, sub, logicalNot } from "./math.ts";
import { min } from "./reductions.ts";
import { checkOptions } from "../options.ts";

/**
 * True (a bool scalar array) when |a - b| <= atol + rtol * |b| everywhere, as NumPy's allclose.
 * @example np.allclose(x, y).item() // true
 */
export function allclose(a: ArrayLike, b: ArrayLike, opts: { rtol?: number; atol?: number; equalNan?: boolean } = {}): Tracer {
  checkOptions("allclose", opts, ["rtol", "atol", "equalNan"]);
  const x = asArray(a);
  const y = asArray(b);
  // The tolerance test applies to finite pairs only: with an infinity both sides are inf.
  const finite = logicalAnd(isFinite(x), isFinite(y));
  const close = logicalAnd(finite, lessEqual(abs(sub(x, y)), add(opts.atol ?? 1e-8, mul(opts.rtol ?? 1e-5, abs(y)))));
  // Infinities compare equal only to themselves; NaNs only when equalNan.
  const bothInf = logicalAnd(logicalNot(isFinite(x)), equal(x, y));
  let ok = logicalOr(close, bothInf);
  if (opts.equalNan) ok = logicalOr(ok, logicalAnd(logicalNot(equal(x, x)), logicalNot(equal(y, y))));
  return min(astype(ok, "int32")).astype("bool");
}

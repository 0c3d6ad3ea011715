/** Closeness tests. */
import type { ArrayLike } from "../convert.ts";
import type { Tracer } from "../tracer.ts";
import { astype } from "./math.ts";
import { min } from "./reductions.ts";
import { isclose } from "./ufuncs.ts";
import { checkOptions } from "../options.ts";

/**
 * True (a bool scalar array) when |a - b| <= atol + rtol * |b| everywhere, as NumPy's allclose.
 * @example np.allclose(x, y).item() // true
 */
export function allclose(a: ArrayLike, b: ArrayLike, opts: { rtol?: number; atol?: number; equalNan?: boolean } = {}): Tracer {
  checkOptions("allclose", opts, ["rtol", "atol", "equalNan"]);
  return min(astype(isclose(a, b, opts), "int32")).astype("bool");
}

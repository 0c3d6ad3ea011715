/** Numerically stable special functions used by losses and parametrisations. */
import { asArray, type ArrayLike } from "../convert.ts";
import type { Tracer } from "../tracer.ts";
import { abs, add, exp, log1p, maximum, neg, sub, minimum } from "./math.ts";

/**
 * log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)).
 * @example np.softplus(np.array([-30, 0, 30])) // [~0, 0.693, 30]
 */
export function softplus(x: ArrayLike): Tracer {
  const a = asArray(x);
  return add(maximum(a, 0), log1p(exp(neg(abs(a)))));
}

/** log(exp(x) + exp(y)) computed stably. */
export function logaddexp(x: ArrayLike, y: ArrayLike): Tracer {
  const m = maximum(x, y);
  return add(m, log1p(exp(sub(minimum(x, y), m))));
}

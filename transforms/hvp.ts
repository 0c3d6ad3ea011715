/** Hessian-vector products: forward-over-reverse, never forming the Hessian. */
import type { PyTree } from "../core/tree.ts";
import { jvp } from "./jvp.ts";
import { grad } from "./vjp.ts";

/**
 * `hvp(f)(primals, tangents)` = H v: the derivative of grad(f) (with respect to the first
 * argument) in the direction `tangents`, as `jvp(grad(f), primals, tangents)[1]`, JAX's
 * forward-over-reverse recipe. Costs about two gradient evaluations; the Hessian is never
 * formed, so it scales to networks with millions of parameters (Lanczos on H, effective
 * dimensionality). `primals` and `tangents` list every argument of f; the result has the
 * structure of the first.
 * @example
 * const loss = (w: Array) => np.sum(np.power(w, 4));
 * hvp(loss)([w], [v]) // 12 w^2 * v
 */
export function hvp(f: (...args: never[]) => unknown) {
  if (typeof f !== "function") throw new Error(`hvp: expected a function, got ${typeof f}`);
  return <T extends PyTree>(primals: PyTree[], tangents: PyTree[]): T => {
    if (!Array.isArray(primals) || !Array.isArray(tangents)) throw new Error("hvp: call as hvp(f)([args...], [tangents...]), one tangent per argument");
    const g = grad(f as never) as (...args: never[]) => T;
    return jvp(g, primals, tangents)[1];
  };
}

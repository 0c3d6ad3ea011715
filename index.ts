/**
 * augerino: a pure-functional, JAX-style array library for TypeScript.
 *
 * @example
 * import { np, grad, vmap, jit } from "augerino";
 * const loss = (w, x, y) => np.mean(np.square(np.matmul(x, w).sub(y)));
 * const step = jit((w, x, y) => w.sub(grad(loss)(w, x, y).mul(0.1)));
 */
import * as npModule from "./core/np.ts";
import * as laxModule from "./core/lax.ts";
import * as randomModule from "./core/random.ts";
import * as linalgModule from "./core/linalg.ts";
import { namedApi } from "./core/options.ts";
import * as tree from "./core/tree-ns.ts";

// Every error from these names the function the caller called (core/options.ts, namedApi).
const np = namedApi("np", npModule);
const lax = namedApi("lax", laxModule);
const random = namedApi("random", randomModule);
const linalg = namedApi("linalg", linalgModule);
export { np, lax, random, linalg, tree };
export { NDArray } from "./core/array.ts";
export { Tracer, Tracer as Array, type ShapedArray } from "./core/tracer.ts";
export type { DType } from "./core/dtype.ts";
export { devices, initBackend, setDefaultBackend, getBackend } from "./core/backend.ts";
export { setCpuThreads } from "./core/backends/cpu/wasm/pool.ts";
export { jvp } from "./transforms/jvp.ts";
export { vjp, grad, valueAndGrad } from "./transforms/vjp.ts";
export { vmap } from "./transforms/vmap.ts";
export { jit, makeJaxpr } from "./transforms/jit.ts";
export { checkpoint, checkpoint as remat, checkpointPolicies, type CheckpointPolicy } from "./transforms/checkpoint.ts";
export { jacfwd, jacrev, hessian } from "./transforms/jacobians.ts";
export { hvp } from "./transforms/hvp.ts";
export { customVjp } from "./transforms/custom.ts";
export { stopGradient } from "./core/np/math.ts";
export { allPrimitives } from "./core/primitive.ts";

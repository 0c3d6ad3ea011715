/**
 * Primitives with a lowering rule run eagerly as the kernel of a one-equation group, so an
 * op called outside jit and the same op fused inside a jit program go through one lowering
 * and one renderer on every backend.
 */
import { Var, type Eqn } from "../jaxpr.ts";
import type { Params, Primitive } from "../primitive.ts";
import type { ShapedArray } from "../tracer.ts";
import type { Kernel } from "./ir.ts";
import { lowerGroup } from "./lower.ts";
import { routineCall, type RoutineCall } from "../routines.ts";

export interface EagerKernel {
  kernel: Kernel;
  /** For each kernel input, the position of the call's input it reads (a lowering may skip or reorder inputs). */
  order: number[];
}

/**
 * Kernels of the most recent call signatures. Bounded: a program sweeping shapes (a
 * growing batch, random sizes) would otherwise keep every kernel it ever ran. A Map keeps
 * insertion order, so re-inserting on each hit makes its first key the least recently used.
 */
const cache = new Map<string, EagerKernel>();
export const EAGER_CACHE_LIMIT = 2048;

/** Call signatures whose kernels are cached (tests check the bound). */
export const eagerCacheSize = () => cache.size;

/** Whether `prim` runs eagerly as a kernel. */
export function runsAsKernel(prim: Primitive): boolean {
  return prim.lower !== undefined || prim.reduction !== undefined;
}

/** The kernel computing one call of `prim`, cached by the call's types and params. */
export function eagerKernel(prim: Primitive, inAvals: readonly ShapedArray[], params: Params, outAvals: readonly ShapedArray[]): EagerKernel {
  const key = `${prim.name}|${inAvals.map((a) => `${a.dtype}[${a.shape}]`).join(",")}|${JSON.stringify(params)}`;
  let k = cache.get(key);
  if (k) {
    cache.delete(key);
  } else {
    const inputs = inAvals.map((a) => new Var(a));
    const eqn = { prim, inputs, outs: outAvals.map((a) => new Var(a)), params } as Eqn;
    const { kernel, inputs: used } = lowerGroup([eqn], eqn);
    k = { kernel, order: used.map((v) => inputs.indexOf(v)) };
    if (cache.size >= EAGER_CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, k);
  return k;
}

const calls = new WeakMap<Eqn, RoutineCall>();

/** The routine call of an equation that is not a kernel (memoised: loop bodies run theirs every step). */
export function routineOf(e: Eqn): RoutineCall {
  let c = calls.get(e);
  if (!c)
    calls.set(
      e,
      (c = routineCall(
        e.prim.name,
        e.params,
        e.inputs.map((v) => v.aval),
        e.outs.map((v) => v.aval),
      )),
    );
  return c;
}

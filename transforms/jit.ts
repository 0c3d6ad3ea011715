/**
 * jit: stages a function to a jaxpr once per input signature (shapes, dtypes, tree
 * structure, static arguments) and runs the staged program. Under other transformations
 * the call is inlined, so grad of jit, vmap of jit and jit of jit all compose.
 */
import { asArray } from "../core/convert.ts";
import { evalJaxpr, traceToJaxpr, type ClosedJaxpr } from "../core/jaxpr.ts";
import { definePrimitive, type Primitive } from "../core/primitive.ts";
import { bind } from "../core/trace.ts";
import { fmtAval, Tracer, type ShapedArray } from "../core/tracer.ts";
import { flatten, unflatten, type TreeDef } from "../core/tree.ts";
import { NDArray } from "../core/array.ts";
import { fusionEnabled, runFused } from "../core/compiler/index.ts";
import { flatOutputs } from "./jvp.ts";
import { checkOptions } from "../core/options.ts";

export const jitCallP: Primitive = definePrimitive({
  name: "jit_call",
  abstractEval: (_avals, { jaxpr }) => jaxpr.outAvals,
  impl: {},
  inline: (args, { jaxpr, numConsts }) => {
    // Run concretely (every argument an array): free intermediates as soon as they die.
    const concrete = args.every((a) => a instanceof NDArray);
    const fused = concrete && fusionEnabled() ? runFused(jaxpr, args.slice(0, numConsts), args.slice(numConsts)) : null;
    return fused ?? evalJaxpr(jaxpr, args.slice(0, numConsts), args.slice(numConsts), { freeIntermediates: concrete });
  },
  printParams: (p) => `name=${p.name}`,
});

export interface JitOpts {
  /** Positional arguments treated as compile-time constants (any JS value; part of the cache key). */
  staticArgnums?: number | number[];
}

interface Staged {
  closed: ClosedJaxpr;
  outDef: TreeDef;
}

function staticKey(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "function" ? `fn:${x.name}:${x.toString().length}` : x instanceof Tracer ? `array:${fmtAval(x.aval)}` : x));
  } catch {
    return String(v);
  }
}

/**
 * Compiles f for each new input signature and reuses it afterwards.
 * @example const step = jit((w, x) => w.sub(grad(loss)(w, x).mul(0.1)))
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function jit<F extends (...args: any[]) => any>(f: F, opts: JitOpts = {}): F & { lower(...args: Parameters<F>): ClosedJaxpr; cacheSize(): number } {
  checkOptions("jit", opts, ["staticArgnums"]);
  if (typeof f !== "function") throw new Error(`jit: expected a function to compile, got ${typeof f}`);
  // JAX takes one number or a list.
  const nums = typeof opts.staticArgnums === "number" ? [opts.staticArgnums] : (opts.staticArgnums ?? []);
  if (!Array.isArray(nums) || !nums.every((n) => Number.isInteger(n) && n >= 0)) throw new Error(`jit: staticArgnums must be a non-negative integer or a list of them, got ${JSON.stringify(opts.staticArgnums)}`);
  const statics = new Set(nums);
  const cache = new Map<string, Staged>();
  const name = f.name || "anonymous";

  const stage = (args: unknown[]): [Staged, Tracer[]] => {
    const dynamic = args.map((a, i) => (statics.has(i) ? null : a));
    const [leaves, inDef] = flatten(dynamic);
    const xs = leaves.map((l) => asArray(l as never));
    const key = `${inDef}|${xs.map((x) => fmtAval(x.aval)).join(",")}|${args.map((a, i) => (statics.has(i) ? staticKey(a) : "")).join(",")}`;
    let staged = cache.get(key);
    if (!staged) {
      let outDef: TreeDef | undefined;
      const closed = traceToJaxpr(
        xs.map((x): ShapedArray => x.aval),
        (tracers) => {
          const rebuilt = unflatten(inDef, tracers) as unknown[];
          const full = args.map((a, i) => (statics.has(i) ? a : rebuilt[i]));
          const [outs, def] = flatOutputs(f(...full), "jit");
          outDef = def;
          return outs;
        },
      );
      staged = { closed, outDef: outDef! };
      // Constants that are tracers of an enclosing transformation belong to this call only.
      if (closed.consts.every((c) => c instanceof NDArray)) cache.set(key, staged);
    }
    return [staged, xs];
  };

  const wrapped = (...args: unknown[]) => {
    const [{ closed, outDef }, xs] = stage(args);
    const outs = bind(jitCallP, [...closed.consts, ...xs], { jaxpr: closed.jaxpr, numConsts: closed.consts.length, name });
    return unflatten(outDef, outs);
  };
  return Object.assign(wrapped as F, {
    lower: (...args: Parameters<F>) => stage(args)[0].closed,
    cacheSize: () => cache.size,
  });
}

/**
 * The staged program of f for example arguments (arrays, or { shape, dtype } specs).
 * @example console.log(makeJaxpr((x) => np.sin(x).mul(2))(np.ones([3])).toString())
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function makeJaxpr(f: (...args: any[]) => any) {
  return (...args: unknown[]) => {
    const [leaves, inDef] = flatten(args);
    const avals = leaves.map((l): ShapedArray => {
      if (l instanceof Tracer) return l.aval;
      if (typeof l === "object" && l !== null && "shape" in l && "dtype" in l) return l as ShapedArray;
      return asArray(l as never).aval;
    });
    const closed = traceToJaxpr(avals, (tracers) => flatOutputs(f(...(unflatten(inDef, tracers) as unknown[])), "makeJaxpr")[0]);
    return Object.assign(closed, { toString: () => closed.jaxpr.toString() });
  };
}

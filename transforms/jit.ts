/**
 * jit: stages a function to a jaxpr once per input signature (shapes, dtypes, tree
 * structure, static arguments) and runs the staged program. Under other transformations
 * the call is inlined, so grad of jit, vmap of jit and jit of jit all compose.
 */
import { asArray } from "../core/convert.ts";
import { evalJaxpr, Jaxpr, traceToJaxpr, type ClosedJaxpr } from "../core/jaxpr.ts";
import { definePrimitive, isZeroTangent, UndefinedPrimal, type Primitive } from "../core/primitive.ts";
import { batchJaxpr, linearizeJaxpr, transposeJaxpr } from "../core/control/jaxprs.ts";
import { zeros } from "../core/np/creation.ts";
import { moveaxis } from "../core/primitives/shape.ts";
import { bind } from "../core/trace.ts";
import { fmtAval, Tracer, type ShapedArray } from "../core/tracer.ts";
import { flatten, unflatten, type TreeDef } from "../core/tree.ts";
import { NDArray } from "../core/array.ts";
import { fusionEnabled, runFused } from "../core/compiler/index.ts";
import { flatOutputs } from "./jvp.ts";
import { checkOptions } from "../core/options.ts";

export interface JitCallParams {
  /** The traced program; its constants are the call's first `numConsts` operands. */
  jaxpr: Jaxpr;
  numConsts: number;
  name: string;
  /** Operands the program is linear in (the tangent half of a call under grad). */
  linear?: boolean[];
}

export const jitCallP: Primitive<JitCallParams> = definePrimitive<JitCallParams>({
  name: "jit_call",
  abstractEval: (_avals, { jaxpr }) => jaxpr.outAvals,
  inline: (args, { jaxpr, numConsts }) => {
    // Run concretely (every argument an array): free intermediates as soon as they die.
    const concrete = args.every((a) => a instanceof NDArray);
    const fused = concrete && fusionEnabled() ? runFused(jaxpr, args.slice(0, numConsts), args.slice(numConsts)) : null;
    return fused ?? evalJaxpr(jaxpr, args.slice(0, numConsts), args.slice(numConsts), { freeIntermediates: concrete });
  },
  // Under grad, jvp and vmap the call stays one compiled call: its program is transformed once per signature.
  jvp(primals, tangents, p) {
    const body = asBody(p.jaxpr);
    const nonzeros = tangents.map((t) => !isZeroTangent(t));
    const lin = linearizeJaxpr(
      body,
      nonzeros,
      body.jaxpr.outs.map(() => false),
    );
    const outs = bindClosed(lin.primal, primals, `${p.name}/primal`);
    const nOut = outs.length - lin.residuals.length;
    const tans = tangents.filter((_, i) => nonzeros[i]);
    const linear = [...lin.residuals.map(() => false), ...tans.map(() => true)];
    const touts = bindClosed(lin.linear, [...outs.slice(nOut), ...tans], `${p.name}/linear`, linear);
    let k = 0;
    return [outs.slice(0, nOut), lin.outNonzero.map((nz) => (nz ? touts[k++] : null))];
  },
  transpose(cts, args, p) {
    const body = asBody(p.jaxpr);
    const linear = p.linear ?? args.map((a) => a instanceof UndefinedPrimal);
    const outAvals = body.jaxpr.outAvals;
    const full = cts.map((c, i) => c ?? zeros([...outAvals[i].shape], { dtype: outAvals[i].dtype }));
    const known = args.filter((_, i) => !linear[i]) as Tracer[];
    const outs = bindClosed(transposeJaxpr(body, linear), [...known, ...full], `${p.name}/transpose`);
    let k = 0;
    // Linear operands that were known (instantiated zeros) take no cotangent.
    return args.map((a, i) => (!linear[i] ? null : a instanceof UndefinedPrimal ? outs[k++] : (k++, null)));
  },
  batch(vals, dims, p, size) {
    const body = asBody(p.jaxpr);
    const batched = batchJaxpr(
      body,
      size,
      dims.map((d) => d !== null),
      body.jaxpr.outs.map(() => false),
    );
    const outs = bindClosed(
      batched.body,
      vals.map((v, i) => (dims[i] === null ? v : moveaxis(v, dims[i]!, 0))),
      `${p.name}/vmap`,
    );
    return [outs, batched.outBatched.map((b) => (b ? 0 : null))];
  },
  printParams: (p) => `name=${p.name}`,
});

/** A jit call's program as a closed body: its constants are the call's first operands, so they are bound here. */
const bodies = new WeakMap<Jaxpr, ClosedJaxpr>();
function asBody(jaxpr: Jaxpr): ClosedJaxpr {
  let b = bodies.get(jaxpr);
  if (!b) bodies.set(jaxpr, (b = { jaxpr: new Jaxpr([], [...jaxpr.constVars, ...jaxpr.inVars], jaxpr.eqns, jaxpr.outs), consts: [] }));
  return b;
}

/** One jit call of a closed program (its concrete constants go first). */
function bindClosed(closed: ClosedJaxpr, args: Tracer[], name: string, linear?: boolean[]): Tracer[] {
  return bind(jitCallP, [...closed.consts, ...args], { jaxpr: closed.jaxpr, numConsts: closed.consts.length, name, linear: linear && [...closed.consts.map(() => false), ...linear] });
}

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
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a user's callback gets `any` parameters from this signature; `never` or `unknown` would reject `(x) => x.mul(2)`
export function jit<F extends (...args: any[]) => any>(f: F, opts: JitOpts = {}): F & { lower(...args: Parameters<F>): ClosedJaxpr; cacheSize(): number } {
  checkOptions("jit", opts, ["staticArgnums"]);
  if (typeof f !== "function") throw new Error(`jit: expected a function to compile, got ${typeof f}`);
  // JAX takes one number or a list.
  const nums = typeof opts.staticArgnums === "number" ? [opts.staticArgnums] : (opts.staticArgnums ?? []);
  if (!Array.isArray(nums) || !nums.every((n) => Number.isInteger(n) && n >= 0))
    throw new Error(`jit: staticArgnums must be a non-negative integer or a list of them, got ${JSON.stringify(opts.staticArgnums)}`);
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
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a user's callback gets `any` parameters from this signature; `never` or `unknown` would reject `(x) => x.mul(2)`
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

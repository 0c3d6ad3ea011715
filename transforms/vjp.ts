/**
 * Reverse mode by linearise-and-transpose. The JVP runs with its tangents staged into a
 * linear jaxpr (primal work runs now, at the outer level); the jaxpr is then evaluated
 * backwards with each primitive's transpose rule.
 */
import { asArray } from "../core/convert.ts";
import { isFloat } from "../core/dtype.ts";
import { buildJaxpr, JaxprTrace, JaxprTracer, type Jaxpr, type Var } from "../core/jaxpr.ts";
import { UndefinedPrimal } from "../core/primitive.ts";
import { bind, withNewMain } from "../core/trace.ts";
import { fmtAval, Tracer } from "../core/tracer.ts";
import { flatten, unflatten, type PyTree, type TreeDef } from "../core/tree.ts";
import { add } from "../core/primitives/elementwise.ts";
import { zeros, onesLike } from "../core/np/creation.ts";
import { flatOutputs, jvpFlat } from "./jvp.ts";
import { ARGNUMS, optionsOf } from "../core/options.ts";

export interface Linearized {
  primalsOut: Tracer[];
  outDef: TreeDef;
  aux: unknown;
  /** Cotangents of the flat inputs from cotangents of the flat outputs (null = zero). */
  transpose(cts: (Tracer | null)[]): Tracer[];
}

/** Linearises f at flat primals. `f` returns a pytree (or [out, aux] with hasAux). */
export function linearizeFlat(f: (xs: Tracer[]) => unknown, primals: Tracer[], hasAux = false, what = "vjp"): Linearized {
  let outDef: TreeDef | undefined;
  let aux: unknown;
  const builder = { eqns: [], consts: new Map(), linear: true };
  const { primalsOut, jaxpr, consts, linearOut } = withNewMain(JaxprTrace, builder, (main) => {
    const trace = new JaxprTrace(main);
    const tanIns = primals.map((p) => trace.newArg(p.aval));
    const [po, to] = jvpFlat(
      (xs) => {
        let out = f(xs);
        if (hasAux) {
          if (!Array.isArray(out) || out.length !== 2) throw new Error(`${what} with hasAux: the function must return [output, aux]`);
          [out, aux] = out;
        }
        const [outs, def] = flatOutputs(out as PyTree, what);
        outDef = def;
        return outs;
      },
      primals,
      tanIns,
    );
    const linearOut = to.map((t) => t instanceof JaxprTracer && t.trace.main === main);
    const staged = buildJaxpr(builder as never, tanIns, to.filter((_, i) => linearOut[i]) as JaxprTracer[]);
    return { primalsOut: po, jaxpr: staged.jaxpr, consts: staged.consts, linearOut };
  });
  if (aux !== undefined) aux = stripTracers(aux);
  return {
    primalsOut,
    outDef: outDef!,
    aux,
    transpose(cts) {
      const linCts = cts.filter((_, i) => linearOut[i]);
      return backwardPass(jaxpr, consts, linCts);
    },
  };
}

/** Aux outputs leave the transformation as their primal values. */
function stripTracers(aux: unknown): unknown {
  const [leaves, def] = flatten(aux as PyTree);
  return unflatten(
    def,
    leaves.map((l) => {
      let x = l;
      while (x instanceof Tracer && "primal" in x) x = (x as unknown as { primal: Tracer }).primal;
      return x;
    }),
  );
}

/** Evaluates a linear jaxpr backwards: cotangents of its inputs from cotangents of its outputs. */
export function backwardPass(jaxpr: Jaxpr, consts: Tracer[], cts: (Tracer | null)[]): Tracer[] {
  const constEnv = new Map<Var, Tracer>();
  jaxpr.constVars.forEach((v, i) => constEnv.set(v, consts[i]));
  const ctEnv = new Map<Var, Tracer>();
  const addCt = (v: Var, ct: Tracer | null) => {
    if (!ct || constEnv.has(v)) return;
    const prev = ctEnv.get(v);
    ctEnv.set(v, prev ? add(prev, ct) : ct);
  };
  // Equations of known values only (a loop body's or checkpoint's recomputed primal work) run forwards first.
  for (const e of jaxpr.eqns) {
    if (!e.inputs.every((v) => constEnv.has(v))) continue;
    const outs = bind(
      e.prim,
      e.inputs.map((v) => constEnv.get(v)!),
      e.params,
    );
    e.outs.forEach((v, i) => constEnv.set(v, outs[i]));
  }
  jaxpr.outs.forEach((v, i) => addCt(v, cts[i]));
  for (let k = jaxpr.eqns.length - 1; k >= 0; k--) {
    const e = jaxpr.eqns[k];
    if (e.outs.every((v) => constEnv.has(v))) continue;
    const outCts = e.outs.map((v) => ctEnv.get(v) ?? null);
    e.outs.forEach((v) => ctEnv.delete(v));
    if (outCts.every((c) => c === null)) continue;
    if (!e.prim.transpose) throw new Error(`${e.prim.name}: no transpose rule, so it cannot be differentiated in reverse mode (it appeared applied to a tangent, which means it is not linear)`);
    const args = e.inputs.map((v) => constEnv.get(v) ?? new UndefinedPrimal(v.aval));
    const inCts = e.prim.transpose(outCts, args, e.params);
    e.inputs.forEach((v, i) => {
      if (args[i] instanceof UndefinedPrimal) addCt(v, inCts[i]);
    });
  }
  return jaxpr.inVars.map((v) => ctEnv.get(v) ?? zeros([...v.aval.shape], { dtype: v.aval.dtype }));
}

function checkDifferentiable(xs: Tracer[], what: string): void {
  xs.forEach((x, i) => {
    if (!isFloat(x.dtype)) throw new Error(`${what}: input leaf ${i} has dtype ${x.dtype}; only floating-point arrays can be differentiated (pass integer data through an argument outside argnums)`);
  });
}

/**
 * Reverse mode: returns f(...primals) and a function from output cotangents to input cotangents.
 * @example const [y, back] = vjp((x) => x.mul(x), x); const [dx] = back(np.onesLike(y));
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the cotangents mirror the primals' pytrees, which this signature does not follow; callers use them as the arrays they passed
export function vjp<T extends PyTree>(f: (...args: never[]) => T, ...primals: PyTree[]): [T, (ct: PyTree) => any[]] {
  const [leaves, inDef] = flatten(primals);
  const xs = leaves.map((l) => asArray(l as never));
  checkDifferentiable(xs, "vjp");
  const lin = linearizeFlat((ys) => (f as (...a: unknown[]) => unknown)(...(unflatten(inDef, ys) as unknown[])), xs);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as vjp's return type above
  const back = (ct: PyTree): any[] => {
    const [ctLeaves, ctDef] = flatten(ct);
    if (!ctDef.equals(lin.outDef)) throw new Error(`vjp: cotangent structure ${ctDef} differs from the output's ${lin.outDef}`);
    const cts = ctLeaves.map((c, i) => {
      const a = asArray(c as never, lin.primalsOut[i].dtype);
      if (a.shape.join() !== lin.primalsOut[i].shape.join()) throw new Error(`vjp: cotangent ${i} has shape [${a.shape}] but the output has [${lin.primalsOut[i].shape}]`);
      return a;
    });
    return unflatten(inDef, lin.transpose(cts)) as unknown[];
  };
  return [unflatten(lin.outDef, lin.primalsOut) as T, back];
}

export interface GradOpts {
  /** Which positional arguments to differentiate (default 0); a list returns a list of gradients. */
  argnums?: number | number[];
  /** The function returns [loss, aux]; aux is passed through undifferentiated. */
  hasAux?: boolean;
}

/** `grad(f, 1)`, `grad(f, [0, 2], { hasAux })` and `grad(f, { argnums: 1 })` are one call (JAX's grad(fun, argnums, has_aux)). */
const gradOptions = (op: string, arg: unknown, rest: unknown) => optionsOf<GradOpts>(op, arg, ["argnums", "hasAux"], ARGNUMS, rest);

/**
 * Value and gradient of a scalar function of pytrees.
 * @example const [loss, g] = valueAndGrad((w) => np.sum(w.mul(w)))(w)
 * @example valueAndGrad(f, 1)(x, y) // with respect to y
 */
export function valueAndGrad(f: (...args: never[]) => unknown, argnumsOrOpts?: number | number[] | GradOpts, rest?: { hasAux?: boolean }) {
  const opts = gradOptions("valueAndGrad", argnumsOrOpts, rest);
  if (typeof f !== "function") throw new Error(`valueAndGrad: expected a function to differentiate, got ${typeof f}`);
  const argnums = opts.argnums ?? 0;
  const nums = typeof argnums === "number" ? [argnums] : argnums;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the value and gradients have the shapes of f's output and arguments, which this signature does not follow
  return (...args: any[]): [any, any] => {
    for (const n of nums) if (!Number.isInteger(n) || n < 0 || n >= args.length) throw new Error(`grad: argnums ${n} is out of range for ${args.length} arguments`);
    // A repeated argument would be replaced twice, and the first gradient would silently read zero.
    if (new Set(nums).size !== nums.length) throw new Error(`grad: argnums ${JSON.stringify(argnums)} repeats an argument`);
    const [leaves, def] = flatten(nums.map((n) => args[n]));
    const xs = leaves.map((l) => asArray(l as never));
    checkDifferentiable(xs, "grad");
    const lin = linearizeFlat(
      (ys) => {
        const diff = unflatten(def, ys) as unknown[];
        const full = [...args];
        nums.forEach((n, i) => (full[n] = diff[i]));
        return (f as (...a: unknown[]) => unknown)(...full);
      },
      xs,
      opts.hasAux,
      "grad",
    );
    const out = lin.primalsOut;
    if (out.length !== 1 || out[0].size !== 1 || out[0].ndim !== 0) {
      throw new Error(
        `grad: the function must return a scalar (shape []), got ${out.map((o) => fmtAval(o.aval)).join(", ")}${lin.outDef.kind !== "leaf" ? ` in a ${lin.outDef}` : ""}. ` +
          `Reduce it first (np.sum / np.mean), or use vjp / jacrev for non-scalar outputs.`,
      );
    }
    if (!isFloat(out[0].dtype)) throw new Error(`grad: the output has dtype ${out[0].dtype}; it must be floating-point`);
    const grads = unflatten(def, lin.transpose([onesLike(out[0])])) as unknown[];
    const value = opts.hasAux ? [out[0], lin.aux] : out[0];
    return [value, typeof argnums === "number" ? grads[0] : grads];
  };
}

/**
 * Gradient of a scalar function with respect to argument `argnums` (default 0).
 * @example grad((x) => np.sin(x))(np.array(0)) // 1
 * @example grad((x, y) => np.sum(x.mul(y)), 1)(x, y) // d/dy = x
 */
export function grad(f: (...args: never[]) => unknown, argnumsOrOpts?: number | number[] | GradOpts, rest?: { hasAux?: boolean }) {
  const opts = gradOptions("grad", argnumsOrOpts, rest);
  const vg = valueAndGrad(f, opts);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as valueAndGrad's
  return (...args: any[]): any => {
    const [value, g] = vg(...args);
    return opts.hasAux ? [g, (value as unknown[])[1]] : g;
  };
}

/**
 * customVjp: a function with a user-given reverse-mode rule. Under grad, `fwd` runs in
 * place of `f` and its residuals feed `bwd` when cotangents flow back; elsewhere `f` runs.
 */
import { asArray } from "../core/convert.ts";
import { definePrimitive, UndefinedPrimal, type Primitive } from "../core/primitive.ts";
import { bind } from "../core/trace.ts";
import type { ShapedArray, Tracer } from "../core/tracer.ts";
import { flatten, unflatten, type PyTree, type TreeDef } from "../core/tree.ts";
import { zeros, zerosLike } from "../core/np/creation.ts";
import { traceToJaxpr } from "../core/jaxpr.ts";
import { flatOutputs } from "./jvp.ts";

interface CallParams {
  f: (xs: Tracer[]) => Tracer[];
  fwd: (xs: Tracer[]) => [Tracer[], unknown];
  bwd: (res: unknown, cts: Tracer[]) => Tracer[];
  outAvals: ShapedArray[];
}

interface LinParams {
  bwd: CallParams["bwd"];
  res: unknown;
  outAvals: ShapedArray[];
}

export const customVjpCallP: Primitive<CallParams> = definePrimitive<CallParams>({
  name: "custom_vjp_call",
  abstractEval: (_avals, p) => p.outAvals,
  inline: (args, p) => p.f(args),
  jvp(primals, tangents, p) {
    const { fwd, bwd } = p;
    const [outs, res] = fwd(primals);
    const touts = bind(customLinP, tangents, { bwd, res, outAvals: outs.map((o) => o.aval) });
    return [outs, touts];
  },
});

/** The linear map whose transpose is the user's bwd; it has no forward evaluation. */
export const customLinP: Primitive<LinParams> = definePrimitive<LinParams>({
  name: "custom_lin",
  abstractEval: (_avals, p) => p.outAvals,
  evaluate: () => {
    throw new Error("customVjp: a function with a custom VJP cannot be differentiated in forward mode (jvp/jacfwd); use grad, vjp or jacrev");
  },
  transpose(cts, args, { bwd, res, outAvals }) {
    const full = cts.map((c, i) => c ?? zeros([...outAvals[i].shape], { dtype: outAvals[i].dtype }));
    const ins = bwd(res, full);
    return args.map((a, i) => (a instanceof UndefinedPrimal ? ins[i] : null));
  },
});

/**
 * Defines f with a custom reverse-mode rule: fwd(...args) returns [out, residuals];
 * bwd(residuals, ctOut) returns one cotangent per argument (an array).
 * @example
 * const clipGrad = customVjp((x) => x, (x) => [x, null], (_r, g) => [np.clip(g, -1, 1)]);
 */
// The callbacks' `any` parameters give the user's arrow functions usable contextual types (`never` or `unknown` would reject `g.mul(2)`).
export function customVjp(
  f: (...args: any[]) => any, // eslint-disable-line @typescript-eslint/no-explicit-any -- see above
  fwd: (...args: any[]) => [any, any], // eslint-disable-line @typescript-eslint/no-explicit-any -- see above
  bwd: (res: any, ct: any) => any[], // eslint-disable-line @typescript-eslint/no-explicit-any -- see above
) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the result takes and returns f's pytrees, which this signature does not follow
  return (...args: any[]): any => {
    const [leaves, inDef] = flatten(args);
    const xs = leaves.map((l) => asArray(l as never));
    let outDef: TreeDef | undefined;
    const flatF = (ys: Tracer[]) => {
      const [outs, def] = flatOutputs(f(...(unflatten(inDef, ys) as unknown[])), "customVjp");
      outDef = def;
      return outs;
    };
    // Staged abstractly only to learn the output shapes; nothing runs.
    const outAvals = traceToJaxpr(
      xs.map((x) => x.aval),
      flatF,
    ).jaxpr.outAvals;
    const flatFwd = (ys: Tracer[]): [Tracer[], unknown] => {
      const [out, res] = fwd(...(unflatten(inDef, ys) as unknown[]));
      return [flatOutputs(out, "customVjp fwd")[0], res];
    };
    const flatBwd = (res: unknown, cts: Tracer[]): Tracer[] => {
      const g = bwd(res, unflatten(outDef!, cts));
      if (!Array.isArray(g) || g.length !== args.length)
        throw new Error(`customVjp: bwd must return an array with one cotangent per argument (${args.length}), got ${Array.isArray(g) ? g.length : typeof g}`);
      const [gl] = flatten(g as PyTree);
      return gl.map((x, i) => (x === null ? zerosLike(xs[i]) : asArray(x as never, xs[i].dtype)));
    };
    const outs = bind(customVjpCallP, xs, { f: flatF, fwd: flatFwd, bwd: flatBwd, outAvals });
    return unflatten(outDef!, outs);
  };
}

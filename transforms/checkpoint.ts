/**
 * checkpoint (remat): a function whose intermediates are not kept for the backward pass
 * but recomputed from its inputs when cotangents flow back, trading compute for memory.
 * A policy names intermediates worth keeping anyway (e.g. the products of dotsSaveable).
 * Inside a long lax.scan it bounds what grad stores per step to the body's inputs.
 */
import { asArray } from "../core/convert.ts";
import { Jaxpr, traceToJaxpr, type ClosedJaxpr, type Eqn } from "../core/jaxpr.ts";
import { definePrimitive, isZeroTangent, UndefinedPrimal, type Params, type Primitive } from "../core/primitive.ts";
import { bind, fullRaise, withNewMain } from "../core/trace.ts";
import type { ShapedArray, Tracer } from "../core/tracer.ts";
import { unflatten } from "../core/tree.ts";
import { zeros } from "../core/np/creation.ts";
import { moveaxis } from "../core/primitives/shape.ts";
import { checkOptions } from "../core/options.ts";
import { batchJaxpr, cached, leavesOf, nonzeroOutputs, ownArray, runBody, stageBody, transposeJaxpr } from "../core/control/jaxprs.ts";
import { JVPTrace, JVPTracer } from "./jvp.ts";

/** Whether the output of an equation is kept for the backward pass (true) or recomputed (false). */
export type CheckpointPolicy = (primitive: string, outAvals: readonly ShapedArray[], params: Params) => boolean;

/** JAX's named policies. */
export const checkpointPolicies: Record<"nothingSaveable" | "everythingSaveable" | "dotsSaveable" | "dotsWithNoBatchDimsSaveable", CheckpointPolicy> = {
  nothingSaveable: () => false,
  everythingSaveable: () => true,
  dotsSaveable: (p) => p === "dot_general" || p === "conv_general_dilated",
  dotsWithNoBatchDimsSaveable: (p, _o, params) => p === "dot_general" && params.dims.batch[0].length === 0,
};

interface CheckpointParams {
  body: ClosedJaxpr;
  policy: CheckpointPolicy;
  name: string;
  /** Operands the body is linear in (the tangent half of a checkpoint under grad). */
  linear?: boolean[];
}

export const checkpointP: Primitive<CheckpointParams> = definePrimitive<CheckpointParams>({
  name: "checkpoint",
  abstractEval: (_avals, p) => p.body.jaxpr.outAvals,
  evaluate(args, p) {
    const owned = new Set(args);
    return runBody(p.body, args).map((o) => ownArray(o, owned));
  },
  jvp(primals, tangents, p) {
    const nonzeros = tangents.map((t) => !isZeroTangent(t));
    const outNz = nonzeroOutputs(p.body, nonzeros);
    const plan = cached(p.body, "checkpoint-jvp", [nonzeros, p.name], () => rematPlan(p.body, p.policy, nonzeros, outNz));
    // The primal half keeps only the outputs (and what the policy saves); the tangent half recomputes the rest.
    const outs = bind(checkpointP, primals, { ...p, body: plan.primal, linear: undefined });
    const nOut = p.body.jaxpr.outs.length;
    const tans = tangents.filter((_, i) => nonzeros[i]);
    const touts = bind(checkpointP, [...primals, ...outs.slice(nOut), ...tans], { ...p, body: plan.linear, linear: plan.linearMask });
    let k = 0;
    return [outs.slice(0, nOut), outNz.map((nz) => (nz ? touts[k++] : null))];
  },
  transpose(cts, args, p) {
    const linear = p.linear ?? args.map((a) => a instanceof UndefinedPrimal);
    const outAvals = p.body.jaxpr.outAvals;
    const full = cts.map((c, i) => c ?? zeros([...outAvals[i].shape], { dtype: outAvals[i].dtype }));
    const known = args.filter((_, i) => !linear[i]) as Tracer[];
    // The transposed body starts by recomputing the primal intermediates from the known inputs.
    const outs = bind(checkpointP, [...known, ...full], { ...p, body: transposeJaxpr(p.body, linear), linear: undefined });
    let k = 0;
    return args.map((a, i) => (!linear[i] ? null : a instanceof UndefinedPrimal ? outs[k++] : (k++, null)));
  },
  batch(vals, dims, p, size) {
    const b = batchJaxpr(
      p.body,
      size,
      dims.map((d) => d !== null),
      p.body.jaxpr.outs.map(() => false),
    );
    const outs = bind(
      checkpointP,
      vals.map((v, i) => (dims[i] === null ? v : moveaxis(v, dims[i]!, 0))),
      { ...p, body: b.body },
    );
    return [outs, b.outBatched.map((x) => (x ? 0 : null))];
  },
  printParams: (p) => `name=${p.name}${p.linear ? " linear" : ""}`,
});

/**
 * The two halves of a checkpointed body under differentiation:
 * - primal: inputs -> (outputs..., values the policy saves...);
 * - linear: (inputs..., saved values..., tangents of the nonzero inputs...) -> output
 *   tangents, recomputing every intermediate the policy did not save.
 */
function rematPlan(body: ClosedJaxpr, policy: CheckpointPolicy, nonzeros: boolean[], outNz: boolean[]) {
  const j = body.jaxpr;
  const saves = (e: Eqn) =>
    policy(
      e.prim.name,
      e.outs.map((v) => v.aval),
      e.params,
    );
  const savedVars = j.eqns.filter(saves).flatMap((e) => e.outs);
  const primal: ClosedJaxpr = { jaxpr: new Jaxpr(j.constVars, j.inVars, j.eqns, [...j.outs, ...savedVars]), consts: body.consts };
  const ins = j.inAvals;
  const tanAvals = ins.filter((_, i) => nonzeros[i]);
  const linear = traceToJaxpr([...ins, ...savedVars.map((v) => v.aval), ...tanAvals], (a) => {
    const primals = a.slice(0, ins.length);
    const saved = a.slice(ins.length, ins.length + savedVars.length);
    let k = ins.length + savedVars.length;
    return withNewMain(JVPTrace, null, (main) => {
      const trace = new JVPTrace(main);
      const env = new Map<unknown, Tracer>();
      j.constVars.forEach((v, i) => env.set(v, body.consts[i]));
      j.inVars.forEach((v, i) => env.set(v, new JVPTracer(trace, primals[i], nonzeros[i] ? a[k++] : null)));
      let s = 0;
      for (const e of j.eqns) {
        const outs = bind(
          e.prim,
          e.inputs.map((v) => env.get(v)!),
          e.params,
        );
        const keep = saves(e);
        e.outs.forEach((v, i) => {
          const o = fullRaise(trace, outs[i]) as JVPTracer;
          // A saved value's primal is read, not recomputed (its recomputation is then dead and dropped).
          env.set(v, keep ? new JVPTracer(trace, saved[s + i], o.tangent) : o);
        });
        if (keep) s += e.outs.length;
      }
      return j.outs.flatMap((v, i) => {
        if (!outNz[i]) return [];
        const o = fullRaise(trace, env.get(v)!) as JVPTracer;
        return [o.tangent ?? zeros([...v.aval.shape], { dtype: v.aval.dtype })];
      });
    });
  });
  const linearMask = [...ins.map(() => false), ...savedVars.map(() => false), ...tanAvals.map(() => true)];
  return { primal, linear, linearMask };
}

export interface CheckpointOpts {
  /** Which intermediates to keep for the backward pass (default: none, recompute everything); see checkpointPolicies. */
  policy?: CheckpointPolicy;
}

/**
 * f, recomputed in the backward pass instead of storing its intermediates (JAX's checkpoint / remat).
 * @example const step = checkpoint((c, x) => np.tanh(np.matmul(c, w).add(x)))
 * @example checkpoint(f, { policy: checkpointPolicies.dotsSaveable })
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a user's callback gets `any` parameters from this signature; `never` or `unknown` would reject `(x) => x.mul(2)`
export function checkpoint<F extends (...args: any[]) => any>(f: F, opts: CheckpointOpts = {}): F {
  checkOptions("checkpoint", opts, ["policy"]);
  if (typeof f !== "function") throw new Error(`checkpoint: expected a function, got ${typeof f}`);
  if (opts.policy !== undefined && typeof opts.policy !== "function")
    throw new Error("checkpoint: policy must be a function (primitive, outAvals, params) => boolean, e.g. checkpointPolicies.dotsSaveable");
  const policy = opts.policy ?? checkpointPolicies.nothingSaveable;
  const name = f.name || "checkpoint";
  return ((...args: unknown[]) => {
    const [leaves, def] = leavesOf(args, "checkpoint arguments");
    const xs = leaves.map((l) => asArray(l as never));
    const staged = stageBody(
      "checkpoint",
      xs.map((x) => x.aval),
      (a) => f(...(unflatten(def, a) as unknown[])),
    );
    const outs = bind(checkpointP, [...staged.operands, ...xs], { body: staged.body, policy, name });
    return unflatten(staged.outDef, outs);
  }) as F;
}

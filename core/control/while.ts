/**
 * whileLoop: `while (cond(carry)) carry = body(carry)` as one primitive holding two jaxprs
 * traced once. Operands are (cond consts..., body consts..., carry...). The host reads the
 * predicate once per iteration (and once for the test that ends the loop), which needs a
 * backend that reads synchronously; on one that does not (WebGPU), pass `maxIterations`
 * and the loop runs that many masked steps without reading anything.
 */
import { definePrimitive, isZeroTangent, type Primitive } from "../primitive.ts";
import { bind } from "../trace.ts";
import { Tracer, type ShapedArray } from "../tracer.ts";
import { Jaxpr, JaxprTracer, traceToJaxpr, type ClosedJaxpr } from "../jaxpr.ts";
import { NDArray } from "../array.ts";
import { convertElementType, gt, select } from "../primitives/elementwise.ts";
import { broadcastInDim, moveaxis } from "../primitives/shape.ts";
import { reduceMax } from "../primitives/reduce.ts";
import { scalar } from "../array.ts";
import { checkOptions } from "../options.ts";
import { unflatten } from "../tree.ts";
import { batchJaxpr, cached, callBody, fmtAvals, jvpJaxpr, leavesOf, nonzeroOutputs, ownArray, runBody, stageBody } from "./jaxprs.ts";

export interface WhileParams {
  cond: ClosedJaxpr;
  body: ClosedJaxpr;
  condConsts: number;
  bodyConsts: number;
  /** A bound for backends that cannot read the predicate synchronously: that many masked steps, no reads. */
  maxIterations?: number;
}

/** Counters for tests and the docs: predicate reads and body steps of while loops run on the host. */
export const whileStats = { predicateReads: 0, steps: 0 };

const sameAvals = (a: readonly ShapedArray[], b: readonly ShapedArray[]) =>
  a.length === b.length && a.every((x, i) => x.dtype === b[i].dtype && x.shape.length === b[i].shape.length && x.shape.every((n, k) => n === b[i].shape[k]));

export const whileP: Primitive<WhileParams> = definePrimitive<WhileParams>({
  name: "while",
  abstractEval(avals, params) {
    const { body, condConsts, bodyConsts } = params;
    const carry = avals.slice(condConsts + bodyConsts);
    if (!sameAvals(carry, body.jaxpr.outAvals)) throw new Error(`while: carry ${fmtAvals(carry)} differs from the body's output ${fmtAvals(body.jaxpr.outAvals)}`);
    return body.jaxpr.outAvals;
  },
  evaluate: runWhile,
  jvp(primals, tangents, p) {
    const { condConsts: nCC, bodyConsts: nBC } = p;
    // The tangents of a linearisation are staged for transposition; a loop of unknown length has nothing to reverse over.
    if (tangents.some((t) => t instanceof JaxprTracer && t.trace.builder.linear)) {
      throw new Error(
        "lax.whileLoop: reverse-mode differentiation (grad, vjp) of a while loop is not supported, since its trip count is only known at run time; use lax.scan or lax.forLoop with a static trip count (forward mode, jvp, works)",
      );
    }
    const given = tangents.map((t) => !isZeroTangent(t));
    const bodyConstNz = given.slice(nCC, nCC + nBC);
    let carryNz = given.slice(nCC + nBC);
    for (;;) {
      const out = nonzeroOutputs(p.body, [...bodyConstNz, ...carryNz]);
      const next = carryNz.map((c, i) => c || out[i]);
      if (next.every((c, i) => c === carryNz[i])) break;
      carryNz = next;
    }
    const plan = cached(p.body, "while-jvp", [nCC, nBC, bodyConstNz, carryNz], () => {
      // Body: (consts, const tangents, carry, carry tangents) -> (carry, carry tangents).
      const jv = jvpJaxpr(p.body, [...bodyConstNz, ...carryNz], carryNz);
      const j = jv.jaxpr;
      const nT = bodyConstNz.filter(Boolean).length;
      const ins = j.inVars;
      const body: ClosedJaxpr = {
        jaxpr: new Jaxpr(
          j.constVars,
          [...ins.slice(0, nBC), ...ins.slice(nBC + carryNz.length, nBC + carryNz.length + nT), ...ins.slice(nBC, nBC + carryNz.length), ...ins.slice(nBC + carryNz.length + nT)],
          j.eqns,
          j.outs,
        ),
        consts: jv.consts,
      };
      // Cond: the same predicate, ignoring the tangents.
      const carryAvals = p.body.jaxpr.outAvals;
      const cond = traceToJaxpr([...p.cond.jaxpr.inAvals, ...carryAvals.filter((_, i) => carryNz[i])], (a) => callBody(p.cond, a.slice(0, p.cond.jaxpr.inVars.length)));
      return { body, cond, nT };
    });
    const nz = (from: number, to: number) => tangents.slice(from, to).filter((_, i) => given[from + i]);
    const carryT = tangents.slice(nCC + nBC).flatMap((t, i) => (!carryNz[i] ? [] : [t]));
    const outs = bind(whileP, [...primals.slice(0, nCC), ...primals.slice(nCC, nCC + nBC), ...nz(nCC, nCC + nBC), ...primals.slice(nCC + nBC), ...carryT], {
      ...p,
      cond: plan.cond,
      body: plan.body,
      bodyConsts: nBC + plan.nT,
    });
    const nK = carryNz.length;
    let k = nK;
    return [outs.slice(0, nK), carryNz.map((c) => (c ? outs[k++] : null))];
  },
  batch(vals, dims, p, size) {
    const { condConsts: nCC, bodyConsts: nBC } = p;
    const inB = dims.map((d) => d !== null);
    let carryB = inB.slice(nCC + nBC);
    let predB: boolean;
    let body: ReturnType<typeof batchJaxpr>;
    let cond: ReturnType<typeof batchJaxpr>;
    for (;;) {
      cond = batchJaxpr(p.cond, size, [...inB.slice(0, nCC), ...carryB], [false]);
      predB = cond.outBatched[0];
      // A batched predicate runs every element until all are done, each keeping its carry once its own test fails.
      const force = predB ? carryB.map(() => true) : carryB;
      body = batchJaxpr(p.body, size, [...inB.slice(nCC, nCC + nBC), ...(predB ? force : carryB)], force);
      const next = (predB ? force : carryB).map((b, i) => b || body.outBatched[i]);
      if (next.every((b, i) => b === carryB[i])) break;
      carryB = next;
    }
    const ops = vals.map((v, i) => {
      const d = dims[i];
      if (i < nCC + nBC) return d === null ? v : moveaxis(v, d, 0);
      if (!carryB[i - nCC - nBC]) return v;
      return d === null
        ? broadcastInDim(
            v,
            [size, ...v.shape],
            v.shape.map((_, k) => k + 1),
          )
        : moveaxis(v, d, 0);
    });
    if (!predB) return [bind(whileP, ops, { ...p, cond: cond!.body, body: body!.body }), carryB.map((b) => (b ? 0 : null))];
    const plan = cached(p.body, "while-batch-pred", [size, inB, carryB], () => {
      const nCarry = carryB.length;
      const avals = (j: ClosedJaxpr) => j.jaxpr.inAvals;
      const condIns = avals(cond!.body).slice(0, nCC);
      const bodyIns = avals(body!.body);
      // Cond: any element still running. Body: (cond consts, body consts, carry) -> masked step.
      const anyCond = traceToJaxpr(avals(cond!.body), (a) => [anyTrue(callBody(cond!.body, a)[0])]);
      const masked = traceToJaxpr([...condIns, ...bodyIns], (a) => {
        const carry = a.slice(nCC + nBC);
        const pred = callBody(cond!.body, [...a.slice(0, nCC), ...carry])[0];
        const next = callBody(body!.body, a.slice(nCC));
        return next.map((n, i) => select(broadcastInDim(pred, n.shape, [0]), n, carry[i]));
      });
      return { anyCond, masked, nCarry };
    });
    const outs = bind(whileP, [...ops.slice(0, nCC), ...ops.slice(0, nCC), ...ops.slice(nCC)], {
      ...p,
      cond: plan.anyCond,
      body: plan.masked,
      bodyConsts: nCC + nBC,
    });
    return [outs, outs.map(() => 0)];
  },
  printParams: (p) => `cond_consts=${p.condConsts} body_consts=${p.bodyConsts}${p.maxIterations !== undefined ? ` max_iterations=${p.maxIterations}` : ""}`,
});

/** Whether any element of a boolean vector is set. */
function anyTrue(p: Tracer): Tracer {
  return gt(reduceMax(convertElementType(p, "int32"), [0]), scalar(0, "int32"));
}

function readsSync(x: Tracer): boolean {
  return x instanceof NDArray && !!x.backendImpl.readSync;
}

function runWhile(args: Tracer[], p: WhileParams): Tracer[] {
  const { cond, body, condConsts: nCC, bodyConsts: nBC } = p;
  const cc = args.slice(0, nCC);
  const bc = args.slice(nCC, nCC + nBC);
  let carry = args.slice(nCC + nBC);
  const owned = new Set<Tracer>(args);
  const step = (next: Tracer[]) => {
    const live = new Set(next);
    for (const c of carry) if (!live.has(c) && !owned.has(c)) c.dispose();
    carry = next;
    whileStats.steps++;
  };
  for (let it = 0; ; it++) {
    const [pred] = runBody(cond, [...cc, ...carry]);
    if (readsSync(pred)) {
      whileStats.predicateReads++;
      const go = Boolean(pred.item());
      pred.dispose();
      if (!go) break;
      step(runBody(body, [...bc, ...carry]));
      continue;
    }
    if (p.maxIterations === undefined) {
      const where = (pred as NDArray).backend;
      pred.dispose();
      throw new Error(
        `lax.whileLoop: the predicate lives on a backend that reads asynchronously (${where}), so the host cannot test it between steps; ` +
          `pass { maxIterations } (the loop then runs that many masked steps without reading), use lax.forLoop with a static trip count, or run the loop on the cpu`,
      );
    }
    if (it >= p.maxIterations) {
      pred.dispose();
      break;
    }
    const next = runBody(body, [...bc, ...carry]);
    step(next.map((n, i) => select(broadcastInDim(pred, n.shape, []), n, carry[i])));
    for (const n of next) n.dispose();
    pred.dispose();
  }
  return carry.map((c) => ownArray(c, owned));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loop state is any pytree of arrays
type Tree = any;

/**
 * `while (condFn(carry)) carry = bodyFn(carry)` (JAX's lax.while_loop): condFn returns a
 * boolean scalar; the carry keeps its shapes and dtypes. Forward-mode differentiable and
 * batchable; reverse mode needs a static trip count (lax.scan, lax.forLoop).
 * `maxIterations` bounds the loop on backends that read asynchronously (WebGPU).
 * @example lax.whileLoop((x) => x.less(100), (x) => x.mul(2), np.array(1)) // 128
 */
export function whileLoop(condFn: (carry: Tree) => Tracer | boolean, bodyFn: (carry: Tree) => Tree, init: Tree, opts: { maxIterations?: number } = {}): Tree {
  checkOptions("lax.whileLoop", opts, ["maxIterations"]);
  if (typeof condFn !== "function" || typeof bodyFn !== "function") throw new Error("lax.whileLoop: expected (condFn, bodyFn, init)");
  if (opts.maxIterations !== undefined && !(Number.isInteger(opts.maxIterations) && opts.maxIterations >= 0))
    throw new Error(`lax.whileLoop: maxIterations must be a non-negative integer, got ${JSON.stringify(opts.maxIterations)}`);
  const [leaves, def] = leavesOf(init, "lax.whileLoop init");
  const avals = leaves.map((l) => l.aval);
  const cond = stageBody("lax.whileLoop condFn", avals, (a) => {
    const out = condFn(unflatten(def, a));
    const [pl] = leavesOf(out, "lax.whileLoop condFn");
    if (pl.length !== 1 || pl[0].dtype !== "bool" || pl[0].size !== 1) throw new Error(`lax.whileLoop: condFn must return one boolean scalar, got ${fmtAvals(pl.map((x) => x.aval))}`);
    return pl[0].ndim === 0 ? pl[0] : pl[0].reshape([]);
  });
  const body = stageBody("lax.whileLoop bodyFn", avals, (a) => {
    const [ol, od] = leavesOf(bodyFn(unflatten(def, a)), "lax.whileLoop bodyFn");
    if (!od.equals(def)) throw new Error(`lax.whileLoop: bodyFn changed the carry's structure from ${def} to ${od}`);
    if (
      !sameAvals(
        avals,
        ol.map((o) => o.aval),
      )
    ) {
      throw new Error(`lax.whileLoop: bodyFn must return a carry with the initial carry's shapes and dtypes; it started as ${fmtAvals(avals)} and bodyFn returned ${fmtAvals(ol.map((o) => o.aval))}`);
    }
    return ol;
  });
  const outs = bind(whileP, [...cond.operands, ...body.operands, ...leaves], {
    cond: cond.body,
    body: body.body,
    condConsts: cond.operands.length,
    bodyConsts: body.operands.length,
    maxIterations: opts.maxIterations,
  });
  return unflatten(def, outs);
}

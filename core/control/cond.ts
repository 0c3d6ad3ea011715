/**
 * cond and switch: one primitive `cond` holding one jaxpr per branch, traced once each.
 * Operands are (index, operands...); every branch takes all operands (each ignores the
 * values other branches captured). On a backend that reads synchronously the host reads
 * the index and runs one branch; on one that does not (WebGPU), or with a batched index
 * under vmap, every branch runs and the results are selected.
 */
import { definePrimitive, isZeroTangent, UndefinedPrimal, type Primitive } from "../primitive.ts";
import { bind } from "../trace.ts";
import { fmtAval, Tracer, type ShapedArray } from "../tracer.ts";
import { Jaxpr, traceToJaxpr, Var, type ClosedJaxpr } from "../jaxpr.ts";
import { NDArray, scalar } from "../array.ts";
import { asArray } from "../convert.ts";
import { convertElementType, eq, max as maxOf, min as minOf, select } from "../primitives/elementwise.ts";
import { broadcastInDim, moveaxis, reshape } from "../primitives/shape.ts";
import { zeros } from "../np/creation.ts";
import { unflatten, type TreeDef } from "../tree.ts";
import { batchJaxpr, callBody, cached, fmtAvals, leavesOf, linearizeJaxpr, nonzeroOutputs, ownArray, runBody, stageBody, transposeJaxpr } from "./jaxprs.ts";

export interface CondParams {
  branches: ClosedJaxpr[];
  /** Operands (after the index) the branches are linear in (a linearisation's tangent branches). */
  linear?: boolean[];
}

/** Counters for tests: branches chosen by a host read, and conds that ran every branch and selected. */
export const condStats = { chosen: 0, selected: 0 };

// Transformed branch sets are cached on the first branch; the key names every branch.
const ids = new WeakMap<Jaxpr, number>();
let nextId = 0;
const idOf = (j: ClosedJaxpr) => {
  let id = ids.get(j.jaxpr);
  if (id === undefined) ids.set(j.jaxpr, (id = nextId++));
  return id;
};
const branchKey = (bs: ClosedJaxpr[]) => bs.map(idOf);

/** The index as an int32 scalar clamped into range, as JAX's switch does. */
function clampIndex(index: Tracer, n: number): Tracer {
  const i = convertElementType(index, "int32");
  return maxOf(minOf(i, scalar(n - 1, "int32")), scalar(0, "int32"));
}

/** Every branch's outputs, then a select per output by the index (scalar or batched along axis 0). */
function selectBranches(index: Tracer, outs: Tracer[][]): Tracer[] {
  return outs[0].map((_, j) => {
    let r = outs[outs.length - 1][j];
    for (let b = outs.length - 2; b >= 0; b--) {
      const o = outs[b][j];
      const hit = eq(index, broadcastInDim(scalar(b, "int32"), index.shape, []));
      const mask = index.ndim === 0 ? broadcastInDim(hit, o.shape, []) : broadcastInDim(hit, o.shape, [0]);
      r = select(mask, o, r);
    }
    return r;
  });
}

export const condP: Primitive<CondParams> = definePrimitive<CondParams>({
  name: "cond",
  abstractEval(avals, params) {
    const { branches } = params;
    const [index, ...ops] = avals;
    if (index.shape.length !== 0 || index.dtype !== "int32") throw new Error(`cond: the index must be an int32 scalar, got ${fmtAvals([index])}`);
    for (const b of branches) {
      const ins = b.jaxpr.inAvals;
      if (ins.length !== ops.length || !ins.every((a, i) => a.dtype === ops[i].dtype && a.shape.join() === ops[i].shape.join())) {
        throw new Error(`cond: operands ${fmtAvals(ops)} do not match a branch's inputs ${fmtAvals(ins)}`);
      }
    }
    return branches[0].jaxpr.outAvals;
  },
  evaluate(args, params) {
    const { branches } = params;
    const [index, ...ops] = args;
    const owned = new Set(args);
    if (index instanceof NDArray && index.backendImpl.readSync) {
      condStats.chosen++;
      const i = Math.min(branches.length - 1, Math.max(0, Number(index.item())));
      return runBody(branches[i], ops).map((o) => ownArray(o, owned));
    }
    condStats.selected++;
    return selectBranches(
      index,
      branches.map((b) => runBody(b, ops)),
    );
  },
  jvp(primals, tangents, params) {
    const { branches } = params;
    const [index, ...ops] = primals;
    const nonzeros = tangents.slice(1).map((t) => !isZeroTangent(t));
    // An output's tangent is nonzero if any branch makes it so; every branch then gives one.
    const outNz = branches.map((b) => nonzeroOutputs(b, nonzeros)).reduce((a, b) => a.map((x, i) => x || b[i]));
    const plan = cached(branches[0], "cond-jvp", [branchKey(branches), nonzeros], () => {
      const lins = branches.map((b) => linearizeJaxpr(b, nonzeros, outNz));
      const allRes: ShapedArray[] = lins.flatMap((l) => l.residuals);
      const offsets = lins.map((_, b) => lins.slice(0, b).reduce((n, l) => n + l.residuals.length, 0));
      const opAvals = branches[0].jaxpr.inAvals;
      const tanAvals = opAvals.filter((_, i) => nonzeros[i]);
      // Primal branch b: its outputs and its residuals, zeros in the other branches' slots.
      const primal = lins.map((l, b) =>
        traceToJaxpr(opAvals, (a) => {
          const out = callBody(l.primal, a);
          const nOut = out.length - l.residuals.length;
          const res = allRes.map((r, k) => (k >= offsets[b] && k < offsets[b] + l.residuals.length ? out[nOut + k - offsets[b]] : zeros([...r.shape], { dtype: r.dtype })));
          return [...out.slice(0, nOut), ...res];
        }),
      );
      // Linear branch b: (all residuals..., tangents...) -> output tangents, reading its own residuals.
      const linear = lins.map((l, b) => traceToJaxpr([...allRes, ...tanAvals], (a) => callBody(l.linear, [...a.slice(offsets[b], offsets[b] + l.residuals.length), ...a.slice(allRes.length)])));
      const mask = [...allRes.map(() => false), ...tanAvals.map(() => true)];
      return { primal, linear, nRes: allRes.length, mask };
    });
    const outs = bind(condP, [index, ...ops], { branches: plan.primal });
    const nOut = outs.length - plan.nRes;
    const res = outs.slice(nOut);
    const tans = tangents.slice(1).filter((_, i) => nonzeros[i]);
    const touts = bind(condP, [index, ...res, ...tans], { branches: plan.linear, linear: plan.mask });
    let k = 0;
    return [outs.slice(0, nOut), outNz.map((nz) => (nz ? touts[k++] : null))];
  },
  transpose(cts, args, params) {
    const { branches } = params;
    const [index, ...ops] = args;
    if (index instanceof UndefinedPrimal) throw new Error("cond: cannot transpose with respect to the branch index");
    const linear = params.linear ?? ops.map((a) => a instanceof UndefinedPrimal);
    ops.forEach((a, i) => {
      if (a instanceof UndefinedPrimal && !linear[i]) throw new Error(`cond: cannot transpose with respect to operand ${i}, which the branches are not linear in`);
    });
    const outAvals = branches[0].jaxpr.outAvals;
    const full = cts.map((c, i) => c ?? zeros([...outAvals[i].shape], { dtype: outAvals[i].dtype }));
    const transposed = cached(branches[0], "cond-transpose", [branchKey(branches), linear], () => branches.map((b) => transposeJaxpr(b, linear)));
    const known = ops.filter((_, i) => !linear[i]) as Tracer[];
    const outs = bind(condP, [index as Tracer, ...known, ...full], { branches: transposed });
    let k = 0;
    return [null, ...ops.map((a, i) => (linear[i] ? (a instanceof UndefinedPrimal ? outs[k++] : (k++, null)) : null))];
  },
  batch(vals, dims, params, size) {
    const { branches } = params;
    const [index, ...ops] = vals;
    const [indexDim, ...opDims] = dims;
    const inB = opDims.map((d) => d !== null);
    const moved = ops.map((v, i) => (opDims[i] === null ? v : moveaxis(v, opDims[i]!, 0)));
    if (indexDim !== null) {
      // A batched index: every branch runs batched and each element selects its own.
      const all = branches.map((b) =>
        callBody(
          batchJaxpr(
            b,
            size,
            inB,
            b.jaxpr.outs.map(() => true),
          ).body,
          moved,
        ),
      );
      return [selectBranches(moveaxis(index, indexDim, 0), all), all[0].map(() => 0)];
    }
    let force = branches[0].jaxpr.outs.map(() => false);
    for (;;) {
      const outB = branches.map((b) => batchJaxpr(b, size, inB, force).outBatched).reduce((a, b) => a.map((x, i) => x || b[i]));
      if (outB.every((x, i) => x === force[i])) break;
      force = outB;
    }
    const batched = branches.map((b) => batchJaxpr(b, size, inB, force).body);
    return [bind(condP, [index, ...moved], { ...params, branches: batched }), force.map((b) => (b ? 0 : null))];
  },
  printParams: (p) => `branches=${p.branches.length}${p.linear ? " linear" : ""}`,
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- branch operands and results are any pytree of arrays
type Tree = any;

/**
 * `branches[index](...operands)` (JAX's lax.switch): every branch is traced once and must
 * return the same structure, shapes and dtypes; the index is clamped into range.
 * @example lax.switch(np.array(1, { dtype: "int32" }), [(x) => x.neg(), (x) => x.mul(2)], x)
 */
export function switchBranches(index: Tracer | number, branches: ((...ops: Tree[]) => Tree)[], ...operands: Tree[]): Tree {
  if (!Array.isArray(branches) || branches.length === 0 || !branches.every((b) => typeof b === "function")) throw new Error("lax.switch: branches must be a non-empty list of functions");
  const idx = asArray(index as never);
  if (idx.size !== 1 || !(idx.dtype === "int32" || idx.dtype === "uint32" || idx.dtype === "bool")) throw new Error(`lax.switch: the index must be an integer scalar, got ${fmtAvals([idx.aval])}`);
  return branchCall(
    "lax.switch",
    clampIndex(reshape(idx, []), branches.length),
    branches,
    operands,
    branches.map((_, b) => `branch ${b}`),
  );
}

/** Stages every branch over the operands and binds one cond. */
function branchCall(what: string, index: Tracer, branches: ((...ops: Tree[]) => Tree)[], operands: Tree[], names: string[]): Tree {
  const [leaves, def] = leavesOf(operands, `${what} operands`);
  const avals = leaves.map((l) => l.aval);
  let outDef: TreeDef | undefined;
  const staged = branches.map((f, b) =>
    stageBody(what, avals, (a) => {
      const [ol, od] = leavesOf(f(...(unflatten(def, a) as Tree[])), `${what} ${names[b]}`);
      outDef ??= od;
      if (!od.equals(outDef)) throw new Error(`${what}: branches return different structures (${outDef} vs ${od})`);
      return ol;
    }),
  );
  const outs = staged.map((s) => s.body.jaxpr.outAvals);
  outs.forEach((o, b) => {
    o.forEach((a, i) => {
      const w = outs[0][i];
      if (a.dtype !== w.dtype || a.shape.join() !== w.shape.join())
        throw new Error(`${what}: branch outputs differ at leaf ${i}: ${names[0]} returns ${fmtAval(w)} but ${names[b]} returns ${fmtAval(a)}`);
    });
  });
  // Each branch takes every branch's captured values, then the operands.
  const captured = staged.flatMap((s) => s.operands);
  const bodies = staged.map((s, b) => {
    const before = staged.slice(0, b).flatMap((t) => t.operands.map((o) => new Var(o.aval)));
    const after = staged.slice(b + 1).flatMap((t) => t.operands.map((o) => new Var(o.aval)));
    const j = s.body.jaxpr;
    const own = j.inVars.slice(0, s.operands.length);
    return { jaxpr: new Jaxpr(j.constVars, [...before, ...own, ...after, ...j.inVars.slice(s.operands.length)], j.eqns, j.outs), consts: s.body.consts };
  });
  return unflatten(outDef!, bind(condP, [index, ...captured, ...leaves], { branches: bodies }));
}

/**
 * `pred ? trueFn(...operands) : falseFn(...operands)` (JAX's lax.cond). Both branches are
 * traced once and must return the same structure, shapes and dtypes. The host reads the
 * predicate and runs one branch where it can (CPU); under vmap with a batched predicate, or
 * on WebGPU, both run and the results are selected.
 * @example lax.cond(x.sum().greater(0), (v) => v.mul(2), (v) => v.neg(), x)
 */
export function cond(pred: Tracer | boolean | number, trueFn: (...ops: Tree[]) => Tree, falseFn: (...ops: Tree[]) => Tree, ...operands: Tree[]): Tree {
  const p = asArray(pred as never);
  if (p.size !== 1) throw new Error(`lax.cond: the predicate must be a scalar, got shape [${p.shape}]`);
  if (typeof trueFn !== "function" || typeof falseFn !== "function") throw new Error("lax.cond: expected (pred, trueFn, falseFn, ...operands)");
  const index = convertElementType(p.dtype === "bool" ? reshape(p, []) : reshape(p, []).notEqual(0), "int32");
  return branchCall("lax.cond", index, [falseFn, trueFn], operands, ["falseFn", "trueFn"]);
}

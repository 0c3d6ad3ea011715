/**
 * Property cases for the control-flow primitives (core/control/): scan, while and cond,
 * with bodies staged once per draw. Every check of the suite applies: jvp and grad against
 * finite differences, vmap against a loop (a batched while predicate or cond index takes
 * the select path), jit against eager, and transposition of the linear loops and branches.
 */
import type { DType } from "../../core/dtype.ts";
import type { Params } from "../../core/primitive.ts";
import type { Tracer } from "../../core/tracer.ts";
import { stageBody } from "../../core/control/jaxprs.ts";
import { np } from "../../index.ts";
import { checkpointPolicies } from "../../transforms/checkpoint.ts";
import type { PrimCase, Rng } from "./types.ts";

type Body = (xs: Tracer[]) => Tracer[];
const aval = (shape: number[], dtype: DType) => ({ shape, dtype });
const stage = (avals: { shape: number[]; dtype: DType }[], f: Body) => stageBody("case", avals, (a) => f(a)).body;

/** Params built for one float dtype, rebuilt for another by the case's deviceParams. */
const rebuild = new WeakMap<Params, (dtype: DType) => Params>();
function typed(build: (dtype: DType) => Params): Params {
  const p = build("float64");
  rebuild.set(p, build);
  return p;
}
const deviceParams = (p: Params, dtype: DType) => rebuild.get(p)!(dtype);

const scanBodies: Record<string, Body> = {
  // (w, c, x) -> (c', y): smooth, and the carry depends on the constant and on itself.
  nonlinear: ([w, c, x]) => [np.tanh(c.mul(w).add(x)), c.mul(x).add(w)],
  // Linear in (c, x) for a fixed w.
  linear: ([w, c, x]) => [c.mul(w).add(x), c.sub(x.mul(2))],
};

function scanCase(kind: keyof typeof scanBodies) {
  return (rng: Rng) => {
    const s = rng.shape(2, 3);
    const n = rng.int(0, 4);
    const reverse = rng.next() < 0.5;
    const args = [rng.array(s, "float64", 0.2, 0.9), rng.array(s), rng.array([n, ...s])];
    const params = typed((dt) => ({ body: stage([aval(s, dt), aval(s, dt), aval(s, dt)], scanBodies[kind]), numConsts: 1, numCarry: 1, length: n, reverse }));
    return { args, params };
  };
}

/** while (i < n) { i += 1; x = sin(x) * w + x / 2 }: a trip count set by an integer, so the float map is smooth. */
function whileCase(rng: Rng) {
  const s = rng.shape(2, 3);
  const args = [rng.array([], "int32", 0, 4), rng.array(s, "float64", 0.5, 1.5), rng.array([], "int32", 0, 2), rng.array(s)];
  const params = typed((dt) => ({
    cond: stage([aval([], "int32"), aval([], "int32"), aval(s, dt)], ([n, i]) => [i.less(n)]),
    body: stage([aval(s, dt), aval([], "int32"), aval(s, dt)], ([w, i, x]) => [i.add(np.array(1, { dtype: "int32" })), np.sin(x).mul(w).add(x.mul(0.5))]),
    condConsts: 1,
    bodyConsts: 1,
    // WebGPU cannot read the predicate between steps: four masked steps cover every draw of n.
    maxIterations: 4,
  }));
  return { args, params };
}

const branchSets: Record<string, Body[]> = {
  nonlinear: [([x, y]) => [x.mul(y)], ([x, y]) => [np.sin(x).add(y)], ([x]) => [np.exp(x.mul(0.5))]],
  linear: [([x, y]) => [x.mul(2).add(y)], ([x, y]) => [y.sub(x)]],
};

function condCase(kind: keyof typeof branchSets) {
  return (rng: Rng) => {
    const s = rng.shape(2, 3);
    const branches = branchSets[kind];
    const args = [rng.array([], "int32", 0, branches.length), rng.array(s), rng.array(s)];
    const params = typed((dt) => ({ branches: branches.map((b) => stage([aval(s, dt), aval(s, dt)], b)) }));
    return { args, params };
  };
}

/** checkpoint around a body: recomputed under grad; the policy keeps the products or nothing. */
function checkpointCase(kind: keyof typeof branchSets) {
  return (rng: Rng) => {
    const s = [rng.int(1, 4), rng.int(1, 4)];
    const policy = rng.next() < 0.5 ? checkpointPolicies.nothingSaveable : checkpointPolicies.dotsSaveable;
    const f: Body = kind === "linear" ? ([x, y]) => [np.matmul(x, np.ones([s[1], s[1]], { dtype: x.dtype })).add(y)] : ([x, y]) => [np.tanh(np.matmul(x, y.T)).mul(np.sin(x).sum())];
    const params = typed((dt) => ({ body: stage([aval(s, dt), aval(s, dt)], f), policy, name: "case" }));
    return { args: [rng.array(s), rng.array(s)], params };
  };
}

export const cases: PrimCase[] = [
  { prim: "checkpoint", make: checkpointCase("nonlinear"), deviceParams, skip: { transpose: "this body is not linear (the linear case below checks transposition)" } },
  { prim: "checkpoint", make: checkpointCase("linear"), deviceParams },
  { prim: "scan", make: scanCase("nonlinear"), deviceParams, skip: { transpose: "this body is not linear (the linear case below checks transposition)" } },
  { prim: "scan", make: scanCase("linear"), deviceParams, linearArgs: [1, 2] },
  {
    prim: "while",
    make: whileCase,
    deviceParams,
    diffArgs: [1, 3],
    skip: { grad: "reverse mode of a while loop is an error by design (as in JAX); tests/core/control.test.ts checks the message", transpose: "not linear, and reverse mode is unsupported" },
  },
  { prim: "cond", make: condCase("nonlinear"), deviceParams, diffArgs: [1, 2], skip: { transpose: "these branches are not linear (the linear case below checks transposition)" } },
  { prim: "cond", make: condCase("linear"), deviceParams, diffArgs: [1, 2], linearArgs: [1, 2] },
];

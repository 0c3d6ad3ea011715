/**
 * Sibling sums become one before fusion: sums over the same axes of operands of one shape
 * computed from a common buffer (batch norm's sum(x - s) and sum((x - s)^2), or sum(dy) and
 * sum(dy * x) in its gradient) read that buffer once, as one sum of their operands stacked
 * on a new kept axis, from which each original result is sliced. The new axis goes right
 * before the last reduced run, so the interleaved plan (loop-plan.ts) reads each run once
 * from memory and again from cache: each result still adds the same elements in the same
 * order, so it is bit for bit what it was. Only sums of that form are merged: elsewhere
 * the stacked operands would be read in separate passes anyway.
 */
import { Jaxpr, Var, type Eqn } from "../jaxpr.ts";
import { concatenateP, reshapeP, sliceP } from "../primitives/shape.ts";
import { reduceSumP, type ReduceParams } from "../primitives/reduce.ts";
import { interleavedGroups } from "./loop-plan.ts";
import { isFusible } from "./lower.ts";

type Sum = Eqn & { params: ReduceParams };

/** `jaxpr` with its sibling sums merged (the same object when there are none). */
export function mergeSiblingSums(jaxpr: Jaxpr): Jaxpr {
  const producer = new Map<Var, Eqn>();
  for (const e of jaxpr.eqns) for (const v of e.outs) producer.set(v, e);
  const sources = sourcesOf(producer);
  const reads = readsOf(producer);

  // Candidates by operand shape, dtype and axes, in program order.
  const byKey = new Map<string, Sum[]>();
  for (const e of jaxpr.eqns) {
    if (e.prim !== reduceSumP) continue;
    const sum = e as Sum;
    const v = sum.inputs[0];
    const groups = interleavedGroups(v.aval.shape, sum.params.axes);
    // The stacked sum computes every operand at each of its points: that pays where its runs
    // go four float32 lanes at a time (memory-bound), not in scalar loops.
    if (!groups || v.aval.dtype !== "float32" || groups[3].reduce((n, d) => n * v.aval.shape[d], 1) % 4 !== 0) continue;
    const key = `${v.aval.dtype}|${v.aval.shape.join(",")}|${[...sum.params.axes].sort((a, b) => a - b).join(",")}`;
    byKey.set(key, [...(byKey.get(key) ?? []), sum]);
  }

  // Each group runs where its first sum did; the later operands' producers move up before it.
  const merged = new Map<Eqn, Eqn[]>();
  const drop = new Set<Eqn>();
  for (const sums of byKey.values()) {
    const taken = new Set<Sum>();
    for (const first of sums) {
      if (taken.has(first)) continue;
      const shared = sources(first.inputs[0]);
      const group = [first];
      for (const s of sums) {
        if (s === first || taken.has(s) || ![...sources(s.inputs[0])].some((v) => shared.has(v))) continue;
        // No operand may need another's result (sum((x - sum(x) / n)^2) needs sum(x) first).
        if (group.some((g) => reads(s.inputs[0], g.outs[0]) || reads(g.inputs[0], s.outs[0]))) continue;
        group.push(s);
      }
      if (group.length < 2) continue;
      for (const g of group) taken.add(g);
      merged.set(first, stacked(group));
      for (const g of group) if (g !== first) drop.add(g);
    }
  }
  if (merged.size === 0) return jaxpr;
  const eqns = jaxpr.eqns.flatMap((e) => merged.get(e) ?? (drop.has(e) ? [] : [e]));
  return new Jaxpr(jaxpr.constVars, jaxpr.inVars, inOrder(eqns), jaxpr.outs);
}

/** `eqns` in their order, except that each one's producers come first (the merged sums read operands computed later). */
function inOrder(eqns: Eqn[]): Eqn[] {
  const producer = new Map<Var, Eqn>();
  for (const e of eqns) for (const v of e.outs) producer.set(v, e);
  const out: Eqn[] = [];
  const done = new Set<Eqn>();
  const visit = (e: Eqn) => {
    if (done.has(e)) return;
    done.add(e);
    for (const v of e.inputs) {
      const p = producer.get(v);
      if (p) visit(p);
    }
    out.push(e);
  };
  for (const e of eqns) visit(e);
  return out;
}

/** Whether value `v` is computed from value `w` (memoised per `w`). */
function readsOf(producer: Map<Var, Eqn>): (v: Var, w: Var) => boolean {
  const memo = new Map<Var, Map<Var, boolean>>();
  return (v, w) => {
    let seen = memo.get(w);
    if (!seen) memo.set(w, (seen = new Map()));
    const walk = (u: Var): boolean => {
      if (u === w) return true;
      const known = seen!.get(u);
      if (known !== undefined) return known;
      seen!.set(u, false);
      const r = (producer.get(u)?.inputs ?? []).some(walk);
      seen!.set(u, r);
      return r;
    };
    return walk(v);
  };
}

/**
 * For each value, the buffers its fusible producers read (the values a fused kernel would
 * load to compute it): where two sums share one, merging them saves a pass over it.
 */
function sourcesOf(producer: Map<Var, Eqn>): (v: Var) => Set<Var> {
  const memo = new Map<Var, Set<Var>>();
  const of = (v: Var): Set<Var> => {
    let s = memo.get(v);
    if (s) return s;
    const e = producer.get(v);
    s = new Set<Var>();
    if (!e || !isFusible(e) || e.prim.reduction) s.add(v);
    else for (const u of e.inputs) for (const w of of(u)) s.add(w);
    memo.set(v, s);
    return s;
  };
  return of;
}

/** The equations computing every sum of `group` (same operand shape and axes) as one sum of the operands stacked on a new axis. */
function stacked(group: Sum[]): Eqn[] {
  const shape = group[0].inputs[0].aval.shape;
  const dtype = group[0].inputs[0].aval.dtype;
  const axes = [...group[0].params.axes].sort((a, b) => a - b);
  const [outer, , k2, r2] = interleavedGroups(shape, axes)!;
  // The new axis p sits before the last reduced run, which becomes one axis (one loop the
  // vector plan can take); in the result the new axis follows the kept axes.
  const p = r2[0];
  const run = r2.reduce((a, d) => a * shape[d], 1);
  const q = outer.length + k2.length;
  const n = group.length;
  const eqns: Eqn[] = [];
  const one = [...shape.slice(0, p), 1, run];
  const parts = group.map((g) => {
    const v = new Var({ shape: one, dtype });
    eqns.push({ prim: reshapeP, inputs: [g.inputs[0]], params: { newShape: one }, outs: [v] });
    return v;
  });
  const all = new Var({ shape: [...shape.slice(0, p), n, run], dtype });
  eqns.push({ prim: concatenateP, inputs: parts, params: { axis: p }, outs: [all] });
  const outShape = group[0].outs[0].aval.shape;
  const sums = new Var({ shape: [...outShape.slice(0, q), n, ...outShape.slice(q)], dtype });
  eqns.push({ prim: reduceSumP, inputs: [all], params: { axes: [...axes.filter((a) => a < p), p + 1] }, outs: [sums] });
  group.forEach((g, i) => {
    const at = sums.aval.shape.map((_, d) => (d === q ? i : 0));
    const sliced = new Var({ shape: [...outShape.slice(0, q), 1, ...outShape.slice(q)], dtype });
    eqns.push({ prim: sliceP, inputs: [sums], params: { start: at, limit: sums.aval.shape.map((m, d) => (d === q ? i + 1 : m)), strides: sums.aval.shape.map(() => 1) }, outs: [sliced] });
    eqns.push({ prim: reshapeP, inputs: [sliced], params: { newShape: [...outShape] }, outs: [g.outs[0]] });
  });
  return eqns;
}

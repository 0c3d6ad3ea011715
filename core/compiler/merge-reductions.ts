/**
 * Chained reductions become one before fusion: reduce_sum(reduce_sum(x, A), B) reads x
 * once as reduce_sum(x, A + B) when nothing else reads the inner result. Transposes
 * produce such chains: the gradient of a bias broadcast over a batch and again over a
 * vmapped axis sums first over the vmapped axis, then over the rest, so the inner sum
 * would be written to memory and read back, and it could not fuse with its producers.
 */
import { Jaxpr, type Eqn, type Var } from "../jaxpr.ts";
import type { ReduceParams } from "../primitives/reduce.ts";

type Reduction = Eqn & { params: ReduceParams };
const isReduction = (e: Eqn): e is Reduction => e.prim.reduceOp !== undefined && Array.isArray(e.params.axes);

/** `jaxpr` with each reduction of a same-op reduction's sole output folded into it (the same object when there is none). */
export function mergeReductions(jaxpr: Jaxpr): Jaxpr {
  const producer = new Map<Var, Eqn>();
  const readers = new Map<Var, number>();
  for (const e of jaxpr.eqns) {
    for (const v of e.outs) producer.set(v, e);
    for (const v of e.inputs) readers.set(v, (readers.get(v) ?? 0) + 1);
  }
  const outputs = new Set(jaxpr.outs);
  const replaced = new Map<Eqn, Eqn>();
  const dropped = new Set<Eqn>();
  for (const outer of jaxpr.eqns) {
    if (!isReduction(outer)) continue;
    const v = outer.inputs[0];
    const found = producer.get(v);
    const inner = found && (replaced.get(found) ?? found);
    if (!inner || !isReduction(inner) || inner.prim !== outer.prim || readers.get(v) !== 1 || outputs.has(v)) continue;
    // The outer axes number the inner result's axes: the operand's axes the inner kept.
    const kept = inner.inputs[0].aval.shape.map((_, i) => i).filter((i) => !inner.params.axes.includes(i));
    const axes = [...inner.params.axes, ...outer.params.axes.map((a) => kept[a])].sort((a, b) => a - b);
    replaced.set(outer, { ...outer, inputs: inner.inputs, params: { ...outer.params, axes } });
    dropped.add(found);
  }
  if (replaced.size === 0) return jaxpr;
  const eqns = jaxpr.eqns.filter((e) => !dropped.has(e)).map((e) => replaced.get(e) ?? e);
  return new Jaxpr(jaxpr.constVars, jaxpr.inVars, eqns, jaxpr.outs);
}

/**
 * Fusion: partitions a jaxpr into steps. A step is either one equation run through its
 * backend as before, or a kernel standing for a group of fusible equations (elementwise,
 * broadcast_in_dim, reshape, transpose, optionally ending in reduce_sum/max/min/prod)
 * whose intermediates are read only inside the group, so they are never materialised.
 */
import type { Eqn, Jaxpr, Var } from "../jaxpr.ts";
import type { Kernel } from "./ir.ts";
import { isFusible, lowerGroup, reduceRules } from "./lower.ts";

export type Step =
  | { kind: "eqn"; eqn: Eqn }
  | { kind: "kernel"; kernel: Kernel; inputs: Var[]; out: Var; eqns: Eqn[] };

/**
 * Greedy grouping from the last equation backwards: each fusible equation (or reduction)
 * not yet taken roots a group, which absorbs the producers of its inputs while every
 * reader of the produced value is already in the group and the value is not a program
 * output. A group may be one equation: as a kernel it runs in the backend's generated code
 * (WebAssembly on all cores on the CPU) instead of the primitive's own loop.
 */
export function partition(jaxpr: Jaxpr): Step[] {
  const producer = new Map<Var, Eqn>();
  const readers = new Map<Var, Eqn[]>();
  for (const e of jaxpr.eqns) {
    for (const v of e.outs) producer.set(v, e);
    for (const v of e.inputs) {
      const r = readers.get(v) ?? [];
      r.push(e);
      readers.set(v, r);
    }
  }
  const outputs = new Set(jaxpr.outs);
  const taken = new Set<Eqn>();
  const groupOfRoot = new Map<Eqn, Set<Eqn>>();

  for (let k = jaxpr.eqns.length - 1; k >= 0; k--) {
    const root = jaxpr.eqns[k];
    if (taken.has(root) || root.outs.length !== 1) continue;
    if (!isFusible(root) && !(root.prim.name in reduceRules)) continue;
    const members = new Set<Eqn>([root]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const m of [...members]) {
        for (const v of m.inputs) {
          const p = producer.get(v);
          if (!p || members.has(p) || taken.has(p) || !isFusible(p) || outputs.has(v)) continue;
          if (readers.get(v)!.every((r) => members.has(r))) {
            members.add(p);
            grew = true;
          }
        }
      }
    }
    for (const m of members) taken.add(m);
    groupOfRoot.set(root, members);
  }

  const steps: Step[] = [];
  for (const e of jaxpr.eqns) {
    const members = groupOfRoot.get(e);
    if (members) {
      const eqns = jaxpr.eqns.filter((x) => members.has(x));
      const { kernel, inputs } = lowerGroup(eqns, e);
      steps.push({ kind: "kernel", kernel, inputs, out: e.outs[0], eqns });
    } else if (!taken.has(e)) steps.push({ kind: "eqn", eqn: e });
  }
  return steps;
}

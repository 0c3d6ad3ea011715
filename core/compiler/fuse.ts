/**
 * Fusion: partitions a jaxpr into steps. A step is either one equation run through its
 * backend as before, or a kernel standing for a group of fusible equations (elementwise,
 * broadcast_in_dim, reshape, transpose, optionally ending in reduce_sum/max/min/prod)
 * whose intermediates are read only inside the group, so they are never materialised.
 *
 * A kernel without a reduction may also take a `head`: the dot_general or
 * conv_general_dilated producing one of its inputs, when that product is read only by the
 * kernel and only through elementwise ops of its own shape. Every element of the product
 * is then read exactly at the kernel's own loop point, so a backend can run the kernel as
 * the product program's epilogue (in its final stores) and never materialise the product.
 */
import type { Eqn, Jaxpr, Var } from "../jaxpr.ts";
import type { Kernel } from "./ir.ts";
import { isFusible, lowerGroup } from "./lower.ts";

/**
 * A kernel step's `head` is a product equation whose single output is the kernel's
 * `inputs[input]`; it runs with the kernel (as its epilogue, or just before it), not as a step.
 */
export type Step = { kind: "eqn"; eqn: Eqn } | { kind: "kernel"; kernel: Kernel; inputs: Var[]; out: Var; eqns: Eqn[]; head?: { eqn: Eqn; input: number } };

/** Primitives whose programs can take an elementwise epilogue. */
const HEADS = new Set(["dot_general", "conv_general_dilated"]);

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
    if (!isFusible(root) && !root.prim.reduceOp) continue;
    const members = new Set<Eqn>([root]);
    for (let grew = true; grew;) {
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
  const heads = new Set<Eqn>();
  for (const e of jaxpr.eqns) {
    const members = groupOfRoot.get(e);
    if (members) {
      const eqns = jaxpr.eqns.filter((x) => members.has(x));
      const { kernel, inputs } = lowerGroup(eqns, e);
      const step: Step = { kind: "kernel", kernel, inputs, out: e.outs[0], eqns };
      if (!kernel.reduce) {
        const input = inputs.findIndex((v) => headable(v, e, members, producer, readers, outputs, heads));
        if (input >= 0) {
          step.head = { eqn: producer.get(inputs[input])!, input };
          heads.add(step.head.eqn);
        }
      }
      steps.push(step);
    } else if (!taken.has(e)) steps.push({ kind: "eqn", eqn: e });
  }
  // A head runs inside its kernel's step, which comes later in program order than the head's own place.
  return steps.filter((s) => s.kind !== "eqn" || !heads.has(s.eqn));
}

/**
 * Whether kernel input `v` (of the group `members` rooted at `root`) may be computed by its
 * producer as the kernel's head: the producer is a single-output product, `v` is no program
 * output, and everything in the group downstream of `v` is elementwise over `v`'s shape,
 * so the kernel reads `v` once per loop point, at that point (and stores the same dtype).
 */
function headable(v: Var, root: Eqn, members: Set<Eqn>, producer: Map<Var, Eqn>, readers: Map<Var, Eqn[]>, outputs: Set<Var>, heads: Set<Eqn>): boolean {
  const d = producer.get(v);
  if (!d || !HEADS.has(d.prim.name) || d.outs.length !== 1 || heads.has(d) || outputs.has(v)) return false;
  if (v.aval.dtype !== root.outs[0].aval.dtype) return false;
  const shape = v.aval.shape.join(",");
  const seen = new Set<Eqn>();
  const todo = [...(readers.get(v) ?? [])];
  for (let r = todo.pop(); r; r = todo.pop()) {
    if (seen.has(r)) continue;
    seen.add(r);
    if (!members.has(r) || !r.prim.pointwise) return false;
    if (r.outs.some((o) => o.aval.shape.join(",") !== shape)) return false;
    if (r !== root) for (const o of r.outs) todo.push(...(readers.get(o) ?? []));
  }
  return true;
}

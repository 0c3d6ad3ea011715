/**
 * A kernel gradient's convolution reads the forward input and the output's cotangent with
 * their two leading axes swapped ([C, N, H, W] and [O, N, Ho, Wo], conv.ts's transpose
 * rule), so the plan would write both transposed copies, as large as the activations, only
 * for the convolution to read them. Where a backend runs conv_swapped_operands (the CPU with
 * oneDNN, which describes float32 arrays where they are), such a convolution of two swaps
 * runs as that primitive on the unswapped arrays, and the swaps go when nothing else reads them.
 */
import { Jaxpr, Var, type Eqn } from "../jaxpr.ts";
import { convGeneralDilatedP, convSwappedP, type ConvParams } from "../primitives/conv.ts";

/** `jaxpr` with each kernel-gradient convolution of two swapped operands reading them unswapped (the same object when there is none). */
export function foldConvTransposes(jaxpr: Jaxpr): Jaxpr {
  const producer = new Map<Var, Eqn>();
  for (const e of jaxpr.eqns) for (const v of e.outs) producer.set(v, e);
  const replaced = new Map<Eqn, Eqn>();
  for (const e of jaxpr.eqns) {
    if (e.prim !== convGeneralDilatedP) continue;
    const p = e.params as ConvParams;
    const [l, r] = e.inputs;
    const out = e.outs[0].aval.shape;
    // oneDNN's float32 backward-weights pass is what reads the operands in place.
    if (l.aval.dtype !== "float32" || p.groups !== 1 || p.lhsDilation.some((d) => d !== 1) || r.aval.shape[2] * r.aval.shape[3] <= out[2] * out[3]) continue;
    const [a, b] = [swappedFrom(l, producer), swappedFrom(r, producer)];
    if (a && b) replaced.set(e, { ...e, prim: convSwappedP, inputs: [a, b] });
  }
  if (replaced.size === 0) return jaxpr;
  return new Jaxpr(
    jaxpr.constVars,
    jaxpr.inVars,
    withoutUnread(
      jaxpr.eqns.map((e) => replaced.get(e) ?? e),
      jaxpr.outs,
    ),
    jaxpr.outs,
  );
}

/**
 * The array whose two leading axes `v` holds swapped: v = transpose(x, [1, 0, 2, 3]), or the
 * transpose rule's grouped form for one group, reshape(transpose(reshape(x, [N, 1, C, H, W]),
 * [2, 1, 0, 3, 4]), [C, N, H, W]); undefined otherwise.
 */
function swappedFrom(v: Var, producer: Map<Var, Eqn>): Var | undefined {
  const perm = (e: Eqn | undefined, want: number[]) => e?.prim.name === "transpose" && (e.params as { perm: number[] }).perm.join() === want.join();
  const t = producer.get(v);
  if (perm(t, [1, 0, 2, 3])) return t!.inputs[0];
  if (t?.prim.name !== "reshape") return undefined;
  const inner = producer.get(t.inputs[0]);
  if (!perm(inner, [2, 1, 0, 3, 4])) return undefined;
  const first = producer.get(inner!.inputs[0]);
  if (first?.prim.name !== "reshape" || first.inputs[0].aval.shape.length !== 4 || inner!.inputs[0].aval.shape[1] !== 1) return undefined;
  return first.inputs[0];
}

/** `eqns` less those (only shape ops) whose outputs nothing reads any more. */
function withoutUnread(eqns: Eqn[], outs: Var[]): Eqn[] {
  const read = new Set<Var>(outs);
  const kept: Eqn[] = [];
  for (let i = eqns.length - 1; i >= 0; i--) {
    const e = eqns[i];
    if ((e.prim.name === "transpose" || e.prim.name === "reshape") && !e.outs.some((v) => read.has(v))) continue;
    for (const v of e.inputs) read.add(v);
    kept.push(e);
  }
  return kept.reverse();
}

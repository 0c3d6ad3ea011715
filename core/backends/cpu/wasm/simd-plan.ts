/**
 * Which fused kernels run their innermost loop four float32 elements at a time: a map
 * storing float32, or a four-lane float32 sum (LoopPlan.sumLanes), whose innermost-loop
 * work is float32 ALU ops that have a four-lane spelling (AluDef.f32x4) over loads that
 * step by one element per iteration, values computed outside the loop, and float32
 * constants. Each lane then equals the scalar loop's element bit for bit (alu.ts), and a
 * sum's lanes are exactly its four accumulators, so both renderings agree.
 */
import { aluDef, aluTypes } from "../../../compiler/alu.ts";
import { INDEX_OPS, type IRNode, type Kernel } from "../../../compiler/ir.ts";
import type { LoopPlan } from "../../../compiler/loop-plan.ts";

export interface SimdPlan {
  /** Index arithmetic of the innermost loop, computed once per four elements (at the first). */
  scalar: IRNode[];
  /** The innermost loop's values, as v128 (float32 lanes or bool lane masks), in order. */
  vector: IRNode[];
}

/** The four-lane plan of kernel `k`, or null when its innermost loop must run one element at a time. */
export function simdPlan(k: Kernel, plan: LoopPlan, nodes: readonly IRNode[], depth: Map<IRNode, number>): SimdPlan | null {
  const inner = plan.loops.length - 1;
  if (inner < 0) return null;
  if (k.reduce) {
    // A sum's lanes are its accumulators only when every innermost run has a multiple of 4
    // elements, or when the kernel hands the lanes to the scalar accumulators for each run's
    // tail (an interleaved plan: render-wasm.ts).
    if (k.reduce.op !== "sum" || plan.sumLanes !== 4 || inner < plan.keptLoops || (plan.loops[inner].extent % 4 !== 0 && !plan.interleave)) return null;
  } else if (k.out.dtype !== "float32") return null;
  if (k.body.dtype !== "float32") return null;

  // Elements the index moves per step of the innermost loop (0: fixed there), or null when not affine.
  const stride = new Map<IRNode, number | null>();
  const strideOf = (n: IRNode): number | null => {
    if (n.op === "const") return 0;
    if (n.op !== "idx" && n.op !== "flat" && depth.get(n)! < inner) return 0;
    return stride.get(n) ?? null;
  };
  const inLoop = (n: IRNode) => n.op !== "const" && depth.get(n) === inner;
  const scalar: IRNode[] = [];
  const vector: IRNode[] = [];
  const vectorSet = new Set<IRNode>();
  // A value a vector op can read: a vector node, or a float32 / bool value fixed in the loop.
  const readable = (n: IRNode): boolean => {
    if (vectorSet.has(n)) return true;
    if (inLoop(n)) return false;
    if (n.op === "const") return n.dtype === "bool" || (n.dtype === "float32" && Object.is(Math.fround(n.arg!), n.arg!));
    return n.dtype === "float32" || n.dtype === "bool";
  };
  for (const n of nodes) {
    if (n.op === "idx") stride.set(n, plan.levelOfAxis(n.arg!) === inner ? 1 : 0);
    else if (n.op === "flat") stride.set(n, plan.counted ? 1 : plan.loops[inner].stride);
    if (n.op === "const" || n.op === "idx" || n.op === "flat" || !inLoop(n)) continue;
    if (n.dtype === "index") {
      if (!INDEX_OPS.has(n.op)) return null;
      const [a, b] = n.args.map(strideOf);
      let s: number | null = null;
      if (a !== null && b !== null) {
        if (n.op === "iadd") s = a + b;
        else if (n.op === "isub") s = a - b;
        else if (n.op === "imul" && n.args[1].op === "const") s = a * n.args[1].arg!;
        else if (n.op === "imul" && n.args[0].op === "const") s = b * n.args[0].arg!;
      }
      stride.set(n, s);
      scalar.push(n);
      continue;
    }
    if (n.op === "load") {
      if (k.inputs[n.arg!].dtype !== "float32" || strideOf(n.args[0]) !== 1) return null;
    } else {
      const def = aluDef(n.op, "simdPlan");
      if (!def.f32x4 || aluTypes(n).from !== "float32" || (n.dtype !== "float32" && n.dtype !== "bool") || !n.args.every(readable)) return null;
    }
    vector.push(n);
    vectorSet.add(n);
  }
  if (!readable(k.body)) return null;
  return { scalar, vector };
}

/**
 * Lowering of jaxpr equations to kernel IR expressions, by each primitive's own `lower`
 * rule (beside the primitive): elementwise primitives become ALU nodes; movement ops
 * (broadcast_in_dim, reshape, transpose, ...) become index remapping of what they read,
 * so they never copy. A reduction (`reduction`) ends a group as the kernel's fold.
 */
import type { Eqn, Var } from "../jaxpr.ts";
import { sizeOf, stridesOf } from "../shape.ts";
import { KernelBuilder, type IRNode, type Kernel } from "./ir.ts";

/** A point in the index space of one value: its multi-index and its row-major flat index, each built on demand. */
export interface Pos {
  dims(): IRNode[];
  flat(): IRNode;
}

export function posFromDims(b: KernelBuilder, shape: readonly number[], dims: IRNode[]): Pos {
  let flat: IRNode | undefined;
  return {
    dims: () => dims,
    flat: () => {
      if (!flat) {
        const st = stridesOf(shape);
        flat = b.const(0, "index");
        dims.forEach((d, i) => (flat = b.iadd(flat!, b.imul(d, shape[i] === 1 ? 0 : st[i]))));
      }
      return flat;
    },
  };
}

export function posFromFlat(b: KernelBuilder, shape: readonly number[], flat: IRNode): Pos {
  let dims: IRNode[] | undefined;
  return {
    flat: () => flat,
    dims: () => {
      if (!dims) {
        const st = stridesOf(shape);
        dims = shape.map((n, i) => (n === 1 ? b.const(0, "index") : i === 0 ? b.idiv(flat, st[i]) : b.imod(b.idiv(flat, st[i]), n)));
      }
      return dims;
    },
  };
}

/**
 * The point of a reshape's input (shape `inShape`) holding the output's element at `pos`
 * (shape `outShape`): the same flat index; trailing axes of equal length keep their
 * indices, and only the leading ones are recovered by division. So a broadcast read through
 * a reshape that merges leading axes ([4,64,C,H,W] as [256,C,H,W]) indexes by the loop's
 * own counters, which the loop plan hoists, instead of dividing the flat index per element.
 */
export function posThroughReshape(b: KernelBuilder, inShape: readonly number[], outShape: readonly number[], pos: Pos): Pos {
  let i = inShape.length;
  let o = outShape.length;
  while (i > 0 && o > 0 && inShape[i - 1] === outShape[o - 1]) {
    i--;
    o--;
  }
  if (o === outShape.length) return posFromFlat(b, inShape, pos.flat());
  let dims: IRNode[] | undefined;
  return {
    flat: () => pos.flat(),
    dims: () => {
      if (!dims) {
        const out = pos.dims();
        const lead = posFromDims(b, outShape.slice(0, o), out.slice(0, o)).flat();
        dims = [...posFromFlat(b, inShape.slice(0, i), lead).dims(), ...out.slice(o)];
      }
      return dims;
    },
  };
}

export interface LowerContext {
  b: KernelBuilder;
  eqn: Eqn;
  /** The value of input `i` of the equation at a point of that input's index space. */
  at(i: number, pos: Pos): IRNode;
}

/** Builds the value of an equation's output at `pos` (a point of the output's index space). */
export type LoweringRule = (ctx: LowerContext, pos: Pos) => IRNode;

export function isFusible(e: Eqn): boolean {
  return e.prim.lower !== undefined;
}

/**
 * One kernel from a group of equations (in program order) ending in `root`, whose other
 * outputs are read only inside the group. A reduction root folds the kernel's body.
 */
export function lowerGroup(group: readonly Eqn[], root: Eqn): { kernel: Kernel; inputs: Var[] } {
  const b = new KernelBuilder();
  const producer = new Map<Var, Eqn>();
  for (const e of group) if (e !== root) producer.set(e.outs[0], e);
  const inputs: Var[] = [];
  const bufferOf = new Map<Var, number>();
  // Keyed by the (hash-consed) multi-index, so a value read twice at one point is lowered once.
  const memo = new Map<Var, Map<string, IRNode>>();

  const valueAt = (v: Var, pos: Pos): IRNode => {
    let m = memo.get(v);
    const key = pos
      .dims()
      .map((d) => d.id)
      .join(",");
    const hit = m?.get(key);
    if (hit) return hit;
    let node: IRNode;
    const e = producer.get(v);
    if (e) node = lowerEqn(e, pos);
    else {
      let k = bufferOf.get(v);
      if (k === undefined) {
        k = inputs.length;
        inputs.push(v);
        bufferOf.set(v, k);
      }
      node = b.load(k, v.aval.dtype, sizeOf(v.aval.shape) === 1 ? b.const(0, "index") : pos.flat());
    }
    if (!m) memo.set(v, (m = new Map()));
    m.set(key, node);
    return node;
  };
  const lowerEqn = (e: Eqn, pos: Pos) => e.prim.lower!({ b, eqn: e, at: (i, p) => valueAt(e.inputs[i], p) }, pos);

  const reduction = root.prim.reduction;
  const shape = reduction ? root.inputs[0].aval.shape : root.outs[0].aval.shape;
  const rootPos: Pos = { dims: () => shape.map((_, i) => b.idx(i)), flat: () => b.flat() };
  const body = reduction ? valueAt(root.inputs[0], rootPos) : lowerEqn(root, rootPos);
  const out = root.outs[0].aval;
  const kernel: Kernel = {
    shape: [...shape],
    inputs: inputs.map((v) => ({ dtype: v.aval.dtype, size: sizeOf(v.aval.shape) })),
    body,
    reduce: reduction ? { op: reduction.op, axes: [...reduction.axes(root.params)] } : undefined,
    out: { dtype: out.dtype, shape: [...out.shape] },
  };
  return { kernel, inputs };
}

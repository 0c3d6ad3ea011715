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
 * (shape `outShape`): the same flat index. The axes fall into groups of equal product on
 * both sides (axes kept, merged or split); each input index comes from its group's output
 * indices alone, so a merge is a multiply-add of loop counters, only a split divides, and
 * the builder's bounds fold the division where a split undoes a merge. So a broadcast read
 * through a reshape that merges leading axes ([4,64,C,H,W] as [256,C,H,W]) indexes by the
 * loop's own counters, which the loop plan hoists, instead of dividing the flat index per element.
 */
export function posThroughReshape(b: KernelBuilder, inShape: readonly number[], outShape: readonly number[], pos: Pos): Pos {
  if (sizeOf(inShape) === 0) return posFromFlat(b, inShape, pos.flat());
  let dims: IRNode[] | undefined;
  return {
    flat: () => pos.flat(),
    dims: () => {
      if (dims) return dims;
      const out = pos.dims();
      dims = [];
      let [i, o] = [0, 0];
      while (i < inShape.length || o < outShape.length) {
        const [i0, o0] = [i, o];
        let pi = i < inShape.length ? inShape[i++] : 1;
        let po = o < outShape.length ? outShape[o++] : 1;
        while (pi !== po) {
          if (pi < po) pi *= inShape[i++];
          else po *= outShape[o++];
        }
        const groupFlat = posFromDims(b, outShape.slice(o0, o), out.slice(o0, o)).flat();
        dims.push(...posFromFlat(b, inShape.slice(i0, i), groupFlat).dims());
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
 * Variables in `literals` (one-element constants) are read as their values, not as buffers.
 */
export function lowerGroup(group: readonly Eqn[], root: Eqn, literals: ReadonlyMap<Var, number> = new Map()): { kernel: Kernel; inputs: Var[] } {
  const reduction = root.prim.reduction;
  const shape = reduction ? root.inputs[0].aval.shape : root.outs[0].aval.shape;
  const b = new KernelBuilder(shape);
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
    else if (literals.has(v)) node = b.const(literals.get(v)!, v.aval.dtype);
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

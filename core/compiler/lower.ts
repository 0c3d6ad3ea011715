/**
 * Lowering of jaxpr equations to kernel IR expressions. Elementwise primitives become ALU
 * nodes; broadcast_in_dim, reshape and transpose become index remapping of what they read,
 * so they never copy.
 *
 * The rules live in one table here for now; the design wants each to move beside its
 * primitive (a `lower` field on Primitive) so adding a primitive touches one file.
 */
import type { Eqn, Var } from "../jaxpr.ts";
import type { Params } from "../primitive.ts";
import { sizeOf, stridesOf } from "../shape.ts";
import { KernelBuilder, type IRNode, type Kernel, type ReduceOp } from "./ir.ts";

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

export interface LowerContext {
  b: KernelBuilder;
  eqn: Eqn;
  /** The value of input `i` of the equation at a point of that input's index space. */
  at(i: number, pos: Pos): IRNode;
}

/** Builds the value of an equation's output at `pos` (a point of the output's index space). */
export type LoweringRule = (ctx: LowerContext, pos: Pos) => IRNode;

const elementwiseRule: LoweringRule = ({ b, eqn, at }, pos) =>
  b.node(eqn.prim.name, eqn.outs[0].aval.dtype, eqn.inputs.map((_, i) => at(i, pos)));

const ELEMENTWISE = [
  "neg", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "logistic", "erf", "erf_inv",
  "abs", "sign", "floor", "ceil", "round", "not", "is_finite",
  "add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2",
  "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor", "shift_left", "shift_right_logical",
  "select", "convert_element_type",
];

/** Primitives computing each output element from the same element of every input (what a dot's epilogue may run). */
export const ELEMENTWISE_PRIMS: ReadonlySet<string> = new Set([...ELEMENTWISE, "stop_gradient"]);

export const loweringRules: Record<string, LoweringRule> = {
  ...Object.fromEntries(ELEMENTWISE.map((n) => [n, elementwiseRule])),
  stop_gradient: ({ at }, pos) => at(0, pos),
  broadcast_in_dim({ b, eqn, at }, pos) {
    const xs = eqn.inputs[0].aval.shape;
    const bd = eqn.params.broadcastDimensions as number[];
    const out = pos.dims();
    return at(0, posFromDims(b, xs, xs.map((n, i) => (n === 1 ? b.const(0, "index") : out[bd[i]]))));
  },
  reshape: ({ b, eqn, at }, pos) => at(0, posFromFlat(b, eqn.inputs[0].aval.shape, pos.flat())),
  transpose({ b, eqn, at }, pos) {
    const perm = eqn.params.perm as number[];
    const out = pos.dims();
    const dims = new Array<IRNode>(perm.length);
    perm.forEach((p, i) => (dims[p] = out[i]));
    return at(0, posFromDims(b, eqn.inputs[0].aval.shape, dims));
  },
};

export const reduceRules: Record<string, ReduceOp> = { reduce_sum: "sum", reduce_max: "max", reduce_min: "min", reduce_prod: "prod" };

export function isFusible(e: Eqn): boolean {
  return e.prim.name in loweringRules;
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
    const key = pos.dims().map((d) => d.id).join(",");
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
  const lowerEqn = (e: Eqn, pos: Pos) => loweringRules[e.prim.name]({ b, eqn: e, at: (i, p) => valueAt(e.inputs[i], p) }, pos);

  const reduceOp = reduceRules[root.prim.name];
  const shape = reduceOp ? root.inputs[0].aval.shape : root.outs[0].aval.shape;
  const rootPos: Pos = { dims: () => shape.map((_, i) => b.idx(i)), flat: () => b.flat() };
  const body = reduceOp ? valueAt(root.inputs[0], rootPos) : lowerEqn(root, rootPos);
  const out = root.outs[0].aval;
  const kernel: Kernel = {
    shape: [...shape],
    inputs: inputs.map((v) => ({ dtype: v.aval.dtype, size: sizeOf(v.aval.shape) })),
    body,
    reduce: reduceOp ? { op: reduceOp, axes: [...(root.params as Params).axes] } : undefined,
    out: { dtype: out.dtype, shape: [...out.shape] },
  };
  return { kernel, inputs };
}

/**
 * Structured control flow: scan, forLoop and cond. They are ordinary functions over the
 * trace machinery: a loop runs its body once per step (so under jit the body is staged
 * once per step, i.e. unrolled) and a cond on a traced predicate evaluates both branches
 * and selects. That makes every transformation (grad, vmap, jit, jvp) apply to them
 * unchanged. Unrolling makes jaxprs grow with the trip count; keep staged loops short.
 */
import { NDArray, scalar } from "./array.ts";
import { asArray } from "./convert.ts";
import { flatten, unflatten, type PyTree } from "./tree.ts";
import { Tracer } from "./tracer.ts";
import { concatenate, reshape, slice } from "./primitives/shape.ts";
import { where } from "./np/math.ts";
import { checkOptions } from "./options.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Tree = any;

function leafArrays(t: PyTree, what: string): [Tracer[], ReturnType<typeof flatten>[1]] {
  const [leaves, def] = flatten(t);
  return [
    leaves.map((l) => {
      if (l instanceof Tracer) return l;
      if (typeof l === "number" || typeof l === "boolean") return asArray(l);
      throw new Error(`${what}: leaves must be arrays or numbers, got ${typeof l}`);
    }),
    def,
  ];
}

/**
 * Loops `f(carry, x) -> [carry, y]` over the leading axis of `xs`, stacking the ys.
 * @example const [total, partial] = lax.scan((c, x) => [c.add(x), c.add(x)], np.array(0), np.arange(5).astype("float32"))
 */
export function scan(f: (carry: Tree, x: Tree) => [Tree, Tree], init: Tree, xs: Tree, opts: { length?: number; reverse?: boolean; unroll?: number | boolean } = {}): [Tree, Tree] {
  // unroll is accepted as JAX's is: a speed hint that changes no result (this loop runs step by step anyway).
  checkOptions("lax.scan", opts, ["length", "reverse", "unroll"]);
  const [xLeaves, xDef] = leafArrays(xs ?? null, "scan xs");
  const lengths = new Set(xLeaves.map((x) => {
    if (x.ndim === 0) throw new Error("scan: every leaf of xs needs a leading axis to scan over (got a scalar)");
    return x.shape[0];
  }));
  if (opts.length !== undefined) lengths.add(opts.length);
  if (lengths.size === 0) throw new Error("scan: pass xs with a leading axis, or { length } when xs is null");
  if (lengths.size > 1) throw new Error(`scan: xs leaves and length disagree on the number of steps (${[...lengths].join(", ")})`);
  const n = [...lengths][0];
  const [, carryDef] = leafArrays(init, "scan init");
  let carry = init;
  const ys: Tracer[][] = [];
  let yDef: ReturnType<typeof flatten>[1] | undefined;
  for (let k = 0; k < n; k++) {
    const i = opts.reverse ? n - 1 - k : k;
    const xi = unflatten(xDef, xLeaves.map((x) => reshape(slice(x, x.shape.map((_, d) => (d === 0 ? i : 0)), x.shape.map((s, d) => (d === 0 ? i + 1 : s))), x.shape.slice(1))));
    const out = f(carry, xi);
    if (!Array.isArray(out) || out.length !== 2) throw new Error("scan: the body must return [carry, y]");
    const [c, y] = out;
    const [cl, cd] = leafArrays(c, "scan carry");
    if (!cd.equals(carryDef)) throw new Error(`scan: the body changed the carry's structure from ${carryDef} to ${cd}`);
    carry = unflatten(cd, cl);
    const [yl, yd] = leafArrays(y ?? null, "scan y");
    yDef ??= yd;
    ys.push(yl);
  }
  if (opts.reverse) ys.reverse();
  const stacked = n === 0 || !yDef ? null : unflatten(yDef, ys[0].map((_, j) => concatenate(ys.map((yl) => reshape(yl[j], [1, ...yl[j].shape])), 0)));
  return [carry, stacked];
}

/**
 * `carry = body(i, carry)` for i in [lower, upper); i is an int32 scalar array.
 * @example lax.forLoop(0, 3, (i, x) => x.mul(2), np.array(1)) // 8
 */
export function forLoop(lower: number, upper: number, body: (i: Tracer, carry: Tree) => Tree, init: Tree): Tree {
  if (!Number.isInteger(lower) || !Number.isInteger(upper)) throw new Error(`forLoop: bounds must be JS integers, got ${lower} and ${upper}`);
  let carry = init;
  for (let i = lower; i < upper; i++) carry = body(scalar(i, "int32"), carry);
  return carry;
}

/**
 * `pred ? trueFn(...operands) : falseFn(...operands)`. A concrete predicate on a backend that
 * reads synchronously (the CPU) runs one branch; a traced one (inside jit, vmap, ...) or one
 * on a device (WebGPU, whose values arrive asynchronously) runs both and selects, so both
 * must return the same structure, shapes and dtypes. Gradients flow through the selected branch.
 * @example lax.cond(x.sum().greater(0), (v) => v.mul(2), (v) => v.neg(), x)
 */
export function cond(pred: Tracer | boolean | number, trueFn: (...ops: Tree[]) => Tree, falseFn: (...ops: Tree[]) => Tree, ...operands: Tree[]): Tree {
  const p = asArray(pred);
  if (p.size !== 1) throw new Error(`cond: the predicate must be a scalar, got shape [${p.shape}]`);
  if (p instanceof NDArray && p.backendImpl.readSync) return p.item() ? trueFn(...operands) : falseFn(...operands);
  const [tl, td] = leafArrays(trueFn(...operands), "cond trueFn");
  const [fl, fd] = leafArrays(falseFn(...operands), "cond falseFn");
  if (!td.equals(fd)) throw new Error(`cond: branches return different structures (${td} vs ${fd})`);
  tl.forEach((t, i) => {
    if (t.shape.join() !== fl[i].shape.join() || t.dtype !== fl[i].dtype) {
      throw new Error(`cond: branch outputs differ at leaf ${i}: ${t.dtype}[${t.shape}] vs ${fl[i].dtype}[${fl[i].shape}]`);
    }
  });
  const pb = reshape(p, []);
  return unflatten(td, tl.map((t, i) => where(pb, t, fl[i])));
}

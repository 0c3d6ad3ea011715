/**
 * The skeleton of an IR kernel (core/compiler/ir.ts) in either dialect. Without a
 * reduction each invocation computes one output element. With one, an output element is
 * folded either by one invocation (many outputs, short reductions) or by a whole group
 * that strides over the reduced points and combines partial results in group memory (few
 * outputs, long reductions): `reduceStrategy` is the one rule for both dialects.
 * Accumulators follow the dialect (`sumType`): CUDA sums floats in double as the CPU does,
 * WGSL in f32.
 */
import { typedArrayFor, type DType } from "../../../dtype.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import { emitBody, topoSort, type Dialect, type IRNode, type Kernel, type ReduceOp } from "../../../compiler/ir.ts";
import { elementwise, treeFold, type Clike, type ClikePass } from "../dialect.ts";

/** How a backend spells IR nodes (its ALU table); `use` collects the helpers a body calls. */
export type IrDialect = (use: Set<string>) => Dialect;

export type ReduceStrategy = "thread" | "block";

/** Invocations per group of the cooperative reduction. */
export const REDUCE_THREADS = 256;

/**
 * A group per output when the reduced extent is long and the outputs are few (measured on
 * lavapipe, where group barriers are slow; with many outputs one invocation per output
 * already fills a device).
 */
export function reduceStrategy(reduced: number, outputs: number): ReduceStrategy {
  return reduced >= 512 && outputs <= 8192 ? "block" : "thread";
}

const isF = (d: DType) => d === "float32" || d === "float64";

/** The accumulator type, initial value and combining expression of each reduction. */
const REDUCE: Record<ReduceOp, { acc: (c: Clike, d: DType) => DType; init: (d: DType) => number; combine: (c: Clike, acc: string, v: string, from: DType, d: DType, use: Set<string>) => string }> = {
  sum: { acc: (c, d) => c.sumType(d), init: () => 0, combine: (c, acc, v, from, d) => `${acc} + ${c.cast(v, from, c.sumType(d))}` },
  prod: { acc: (c, d) => c.sumType(d), init: () => 1, combine: (c, acc, v, from, d) => `${acc} * ${c.cast(v, from, c.sumType(d))}` },
  max: {
    acc: (_c, d) => d,
    init: (d) => (isF(d) ? -Infinity : d === "int32" ? -2147483648 : 0),
    combine: (c, acc, v, _f, d, use) => c.select(isF(d) ? `${v} > ${acc} || ${c.isNan(v, use)}` : `${v} > ${acc}`, v, acc),
  },
  min: {
    acc: (_c, d) => d,
    init: (d) => (isF(d) ? Infinity : d === "int32" ? 2147483647 : d === "bool" ? 1 : 0xffffffff),
    combine: (c, acc, v, _f, d, use) => c.select(isF(d) ? `${v} < ${acc} || ${c.isNan(v, use)}` : `${v} < ${acc}`, v, acc),
  },
};

/** The value the CPU stores for an empty reduction: its initial value written to a typed array of `d`. */
function emptyValue(op: ReduceOp, d: DType): number {
  const t = typedArrayFor(d, 1);
  t[0] = op === "sum" ? 0 : op === "prod" ? 1 : op === "max" ? -Infinity : Infinity;
  return t[0];
}

/** Names for loop index `axis`, decoded from a linear counter over `axes` of `shape`. */
export function decoder(shape: readonly number[], axes: number[], counter: string): Map<number, string> {
  const sub = axes.map((a) => shape[a]);
  // An empty space is never iterated; WGSL rejects the constant "/ 0u" its decoding would contain.
  if (sub.includes(0)) return new Map(axes.map((a) => [a, "0u"]));
  const st = stridesOf(sub);
  return new Map(axes.map((a, i) => [a, sub[i] === 1 ? "0u" : i === 0 ? `(${counter} / ${st[i]}u)` : `((${counter} / ${st[i]}u) % ${sub[i]}u)`]));
}

/**
 * The nodes of `root` that read no loop index but those of the axes before `outer` (scalar
 * inputs' loads, per-channel parameters' loads in a block over the trailing axes, and what
 * is computed from them alone): one invocation computes them once for all its elements.
 */
function invariantNodes(root: IRNode, outer = 0): Set<IRNode> {
  const fixed = new Set<IRNode>();
  for (const n of topoSort(root)) if (n.op === "idx" ? n.arg! < outer : n.op !== "flat" && n.args.every((a) => fixed.has(a))) fixed.add(n);
  return fixed;
}

/** Fewest elements in a block of trailing axes: one per invocation of a group (smaller blocks leave invocations idle). */
const MIN_BLOCK = 64;

/**
 * For an elementwise kernel whose loads include some that read only leading axes (a batch
 * norm's per-channel parameters over [N, C, H, W]), the first trailing axis t of the
 * smallest block of trailing axes of at least MIN_BLOCK elements: with each group inside
 * one block, those loads and what they feed run once per invocation, not once per element.
 * Null where no load gains.
 */
function blockAxis(k: Kernel): number | null {
  let inner = 1;
  for (let t = k.shape.length - 1; t >= 1; t--) {
    inner *= k.shape[t];
    if (inner < MIN_BLOCK) continue;
    const plain = invariantNodes(k.body);
    const gains = [...invariantNodes(k.body, t)].some((n) => n.op === "load" && !plain.has(n));
    return gains ? t : null;
  }
  return null;
}

/**
 * One pass computing the kernel; binding k < inputs.length is input k, the last is the
 * output. `reduce` forces a reduction strategy (tests render both).
 */
export function renderIrKernel(c: Clike, k: Kernel, ir: IrDialect, opts: { reduce?: ReduceStrategy } = {}): ClikePass {
  const use = new Set<string>();
  const bufs = [...k.inputs.map((b, i) => ({ name: `in${i}`, dtype: b.dtype })), { name: "out", dtype: k.out.dtype, write: true }];
  const bindings = [...k.inputs.map((_, i) => ({ in: i })), { out: 0 }];
  const rank = k.shape.length;
  const outSize = sizeOf(k.out.shape);
  const st = stridesOf(k.shape);
  const flatOf = (idx: Map<number, string>) =>
    k.shape
      .map((n, a) => (n === 1 ? "" : `${idx.get(a)} * ${st[a]}u`))
      .filter(Boolean)
      .join(" + ") || "0u";
  const body = (idx: Map<number, string>, flat: string) => emitBody(k.body, { ...ir(use), load: (b, i) => c.ld(`in${b}`, i) }, (a) => idx.get(a)!, flat);
  const indent = (lines: string[]) => lines.map((l) => `  ${l.trim()}`).join("\n");
  const d = k.out.dtype;

  if (!k.reduce) {
    const axes = [...Array(rank).keys()];
    const t = c.perBlock && outSize > 0 ? blockAxis(k) : null;
    // In a block the leading axes' indices are those of its first element, gb.
    const idx = t === null ? decoder(k.shape, axes, "gi") : new Map(axes.map((a) => [a, decoder(k.shape, axes, a < t ? "gb" : "gi").get(a)!]));
    const { lines, nodes, value } = body(idx, "gi");
    const fixed = invariantNodes(k.body, t ?? 0);
    const [pre, per] = [lines.filter((_, i) => fixed.has(nodes[i])), lines.filter((_, i) => !fixed.has(nodes[i]))];
    const inner = t === null ? undefined : sizeOf(k.shape.slice(t));
    return elementwise(c, bufs, bindings, outSize, `${indent(per)}\n  ${c.st("out", "gi", value)}`, use, [], indent(pre), inner);
  }

  const op = k.reduce.op;
  const red = [...k.reduce.axes].sort((a, b) => a - b);
  const kept = [...Array(rank).keys()].filter((a) => !red.includes(a));
  const R = sizeOf(red.map((a) => k.shape[a]));
  if (R === 0) return elementwise(c, bufs, bindings, outSize, `  ${c.st("out", "gi", c.literal(emptyValue(op, d), d))}`);
  const idx = new Map([...decoder(k.shape, kept, "o"), ...decoder(k.shape, red, "r")]);
  const { lines, value } = body(idx, "fl");
  const usesFlat = topoSort(k.body).some((n) => n.op === "flat");
  const r = REDUCE[op];
  const A = r.acc(c, d);
  const point = `${usesFlat ? `  ${c.let("fl", "index", flatOf(idx))}\n` : ""}${indent(lines)}
  acc = ${r.combine(c, "acc", value, d, d, use)};`;
  const init = c.var("acc", A, c.literal(r.init(d), A));
  if ((opts.reduce ?? reduceStrategy(R, outSize)) === "thread") {
    return elementwise(
      c,
      bufs,
      bindings,
      outSize,
      `  ${c.let("o", "index", "gi")}
  ${init}
  ${c.loop("r", "0u", `r < ${R}u`, "r += 1u")} {
${point}
  }
  ${c.st("out", "o", c.cast("acc", A, d))}`,
      use,
    );
  }
  const RT = REDUCE_THREADS;
  const main = `  ${c.let("o", "index", "grp")}
  ${init}
  if (o < ${outSize}u) {
    ${c.loop("r", "lid", `r < ${R}u`, `r += ${RT}u`)} {
${point}
    }
  }
  part[lid] = acc;
${treeFold(c, RT, `${c.let("a", A, "part[lid]")} ${c.let("v", A, "part[lid + s]")} part[lid] = ${r.combine(c, "a", "v", A, d, use)};`)}
  if (lid == 0u && o < ${outSize}u) { ${c.st("out", "o", c.cast("part[0]", A, d))} }`;
  const code = c.module({ bufs, threads: RT, body: main, helpers: use, shared: [["part", c.type(A), RT]] });
  return { code, bindings, groups: Math.max(1, outSize), threads: RT };
}

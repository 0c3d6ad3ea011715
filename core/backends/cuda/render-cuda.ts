/**
 * Renders kernel IR (core/compiler/ir.ts) to a CUDA C launch. Without a reduction each
 * thread computes one output element. With one, an output element is either folded by one
 * thread (many outputs, short reductions) or by a whole block that strides over the reduced
 * points and combines partial results in shared memory (few outputs, long reductions).
 *
 * Semantics follow the CPU kernels (core/primitives/elementwise.ts, render-js.ts): float32
 * values are rounded to float32 after every op, and float products are `__fmul_rn`, which
 * the compiler never contracts into a fused multiply-add, so +, -, *, / chains are bit for
 * bit the CPU's; transcendental functions are CUDA's float32 ones (a few ulp). Integer
 * arithmetic wraps modulo 2^32, division by zero gives 0, shifts by 32 or more give 0,
 * float-to-integer conversion wraps like JavaScript's ToInt32/ToUint32, and max/min
 * propagate NaN. float32 sums and products accumulate in double, as the CPU's do.
 */
import type { DType } from "../../dtype.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import { emitBody, type IRType, type Kernel, type ReduceOp } from "../../compiler/ir.ts";
import { aluDef, aluTypes } from "../../compiler/alu.ts";
import { typedArrayFor } from "../../dtype.ts";
import type { Pass } from "./program.ts";
import { blocks, ctype, kernel, literal, param, THREADS, type CType } from "./cuda-c.ts";

const isF = (d: IRType) => d === "float32" || d === "float64";

interface Reducer {
  /** The accumulator's C type for an output of `d`. */
  acc: (d: DType) => CType;
  /** The JavaScript initial value (the CPU's); the C initial value is its literal in the accumulator. */
  init: number;
  combine: (acc: string, v: string, d: DType) => string;
}

/** Sums and products accumulate in double for floats (as the CPU does) and wrap in unsigned for integers. */
const wide = (d: DType): CType => (isF(d) ? "double" : "unsigned");
const REDUCE: Record<ReduceOp, Reducer> = {
  sum: { acc: wide, init: 0, combine: (acc, v, d) => (isF(d) ? `${acc} + (double)${v}` : `${acc} + (unsigned)${v}`) },
  prod: { acc: wide, init: 1, combine: (acc, v, d) => (isF(d) ? `${acc} * (double)${v}` : `${acc} * (unsigned)${v}`) },
  max: { acc: (d) => ctype(d), init: -Infinity, combine: (acc, v, d) => (isF(d) ? `((${v} > ${acc} || ${v} != ${v}) ? ${v} : ${acc})` : `(${v} > ${acc} ? ${v} : ${acc})`) },
  min: { acc: (d) => ctype(d), init: Infinity, combine: (acc, v, d) => (isF(d) ? `((${v} < ${acc} || ${v} != ${v}) ? ${v} : ${acc})` : `(${v} < ${acc} ? ${v} : ${acc})`) },
};

/** The accumulator's starting value: the identity, or for max/min of integers the type's extreme. */
function initLiteral(op: ReduceOp, d: DType): string {
  const acc = REDUCE[op].acc(d);
  if (acc === "double") return literal(REDUCE[op].init, "float64");
  if (op === "sum") return "0u";
  if (op === "prod") return "1u";
  if (d === "float32") return literal(REDUCE[op].init, "float32");
  if (d === "int32") return op === "max" ? "(-2147483647 - 1)" : "2147483647";
  return op === "max" ? "0u" : d === "bool" ? "1u" : "0xffffffffu";
}

/** The value the CPU stores for an empty reduction: its float64 initial value written to a typed array of `d`. */
function emptyValue(op: ReduceOp, d: DType): number {
  const t = typedArrayFor(d, 1);
  t[0] = REDUCE[op].init;
  return t[0];
}

/** Threads per block of the cooperative reduction. */
export const REDUCE_THREADS = 256;

export type ReduceStrategy = "thread" | "block";

/** One thread per output for short reductions; a block per output when the reduced extent is long and outputs are few. */
export function chooseReduceStrategy(reduced: number, outputs: number): ReduceStrategy {
  return reduced >= 512 || (reduced >= 64 && outputs <= 1024) ? "block" : "thread";
}

/** The statements computing `k.body`, given how loop indices and the flat index are named. */
function renderBody(k: Kernel, idx: (axis: number) => string, flat: string, use: (h: string) => void): { lines: string[]; value: string } {
  return emitBody(k.body, {
    literal: (n) => literal(n.arg!, n.dtype),
    idiv: (x, y) => `${x} / ${y}`,
    alu(n, a) {
      return aluDef(n.op, "cuda").cuda(a, aluTypes(n), use);
    },
    declare: (v, n, expr) => `    const ${ctype(n.dtype)} ${v} = ${expr};`,
  }, idx, flat);
}

/** Expressions for loop index `axis`, decoded from a linear counter over `axes` of `shape`. */
function decoder(shape: readonly number[], axes: number[], counter: string): Map<number, string> {
  const sub = axes.map((a) => shape[a]);
  const st = stridesOf(sub);
  return new Map(axes.map((a, i) => [a, sub[i] === 1 ? "0u" : i === 0 ? `(${counter} / ${st[i]}u)` : `((${counter} / ${st[i]}u) % ${sub[i]}u)`]));
}

/**
 * One launch computing the kernel; parameter k < inputs.length is input k, the last is the
 * output. `reduce` forces a reduction strategy (tests render both).
 */
export function renderCuda(k: Kernel, opts: { reduce?: ReduceStrategy } = {}): Pass {
  const used = new Set<string>();
  const use = (h: string) => used.add(h);
  const params = [...k.inputs.map((b, i) => param(`in${i}`, b.dtype)), param("out", k.out.dtype, true)];
  const bindings = [...k.inputs.map((_, i) => ({ in: i })), { out: 0 }];
  const rank = k.shape.length;
  const outSize = sizeOf(k.out.shape);
  const st = stridesOf(k.shape);
  const flatOf = (idx: Map<number, string>) => k.shape.map((n, d) => (n === 1 ? "" : `${idx.get(d)} * ${st[d]}u`)).filter(Boolean).join(" + ") || "0u";
  const d = k.out.dtype;
  const T = ctype(d);
  const pass = (code: string, nblocks: number, threads = THREADS): Pass => ({ code, bindings, blocks: nblocks, threads });

  if (!k.reduce) {
    const idx = decoder(k.shape, [...Array(rank).keys()], "gi");
    const { lines, value } = renderBody(k, (a) => idx.get(a)!, "gi", use);
    const body = `  const unsigned long long g = (unsigned long long)blockIdx.x * ${THREADS}u + threadIdx.x;
  if (g >= ${outSize}ull) return;
  const unsigned gi = (unsigned)g;
  {
${lines.join("\n")}
    out[gi] = ${value};
  }`;
    return pass(kernel(params, body, used), blocks(outSize));
  }

  const op = k.reduce.op;
  const red = [...k.reduce.axes].sort((a, b) => a - b);
  const kept = [...Array(rank).keys()].filter((a) => !red.includes(a));
  const R = sizeOf(red.map((a) => k.shape[a]));
  if (R === 0) {
    const body = `  const unsigned long long g = (unsigned long long)blockIdx.x * ${THREADS}u + threadIdx.x;
  if (g < ${outSize}ull) out[g] = ${literal(emptyValue(op, d), d)};`;
    return pass(kernel(params, body), blocks(outSize));
  }
  const idx = new Map([...decoder(k.shape, kept, "o"), ...decoder(k.shape, red, "r")]);
  const { lines, value } = renderBody(k, (a) => idx.get(a)!, "fl", use);
  const usesFlat = lines.some((l) => /\bfl\b/.test(l));
  const r = REDUCE[op];
  const A = r.acc(d);
  const point = `${usesFlat ? `    const unsigned fl = ${flatOf(idx)};\n` : ""}${lines.join("\n")}
    acc = ${r.combine("acc", value, d)};`;
  const strategy = opts.reduce ?? chooseReduceStrategy(R, outSize);
  if (strategy === "thread") {
    const body = `  const unsigned long long g = (unsigned long long)blockIdx.x * ${THREADS}u + threadIdx.x;
  if (g >= ${outSize}ull) return;
  const unsigned o = (unsigned)g;
  ${A} acc = ${initLiteral(op, d)};
  for (unsigned r = 0u; r < ${R}u; ++r) {
${point}
  }
  out[o] = (${T})acc;`;
    return pass(kernel(params, body, used), blocks(outSize));
  }
  const RT = REDUCE_THREADS;
  const body = `  __shared__ ${A} part[${RT}];
  const unsigned o = blockIdx.x;
  const unsigned lid = threadIdx.x;
  ${A} acc = ${initLiteral(op, d)};
  for (unsigned r = lid; r < ${R}u; r += ${RT}u) {
${point}
  }
  part[lid] = acc;
  __syncthreads();
  for (unsigned s = ${RT / 2}u; s > 0u; s >>= 1) {
    if (lid < s) {
      const ${A} a = part[lid];
      const ${A} v = part[lid + s];
      part[lid] = ${r.combine("a", "v", d)};
    }
    __syncthreads();
  }
  if (lid == 0u) out[o] = (${T})part[0];`;
  return pass(kernel(params, body, used, RT), Math.max(1, outSize), RT);
}

/**
 * Renders kernel IR to a JavaScript loop function over typed arrays. Every ALU node
 * is rounded to its dtype exactly where the unfused kernel's store would round it
 * (Math.fround for float32, |0 for int32, >>>0 for uint32), so fused results are bit
 * for bit those of running the primitives one at a time. Reductions accumulate in
 * float64 in row-major order of the reduced axes, as the reduce kernels do.
 */
import { isFloat, isInt, type DType, type TypedArray } from "../dtype.ts";
import { stridesOf } from "../shape.ts";
import { lib } from "../backends/cpu/loops.ts";
import { emitBody, topoSort, type IRNode, type IRType, type Kernel, type ReduceOp } from "./ir.ts";

export type KernelFn = (out: TypedArray, ...ins: TypedArray[]) => void;

type Template = (a: string[], inDtype: IRType, outDtype: IRType) => string;

const erfInv64 = (a: string) => `((y) => Number.isFinite(y) ? y - (lib.erf(y) - ${a}) * 0.886226925452758 * Math.exp(y * y) : y)(lib.erfInv(${a}))`;
const int = (d: IRType) => d === "int32" || d === "uint32";
const call = (f: string): Template => (a) => `${f}(${a.join(", ")})`;
const infix = (op: string): Template => ([a, b]) => `${a} ${op} ${b}`;
const cmp = (op: string): Template => ([a, b]) => `(${a} ${op} ${b}) ? 1 : 0`;

/** JavaScript for each ALU op, written as the eager CPU kernels write it (core/primitives/elementwise.ts). */
const ALU: Record<string, Template> = {
  neg: ([a]) => `-${a}`,
  exp: call("Math.exp"), log: call("Math.log"), log1p: call("Math.log1p"), expm1: call("Math.expm1"),
  sqrt: call("Math.sqrt"), rsqrt: ([a]) => `1 / Math.sqrt(${a})`,
  sin: call("Math.sin"), cos: call("Math.cos"), tan: call("Math.tan"), tanh: call("Math.tanh"),
  logistic: ([a]) => `1 / (1 + Math.exp(-${a}))`,
  erf: call("lib.erf"), erf_inv: ([a], d) => (d === "float64" ? erfInv64(a) : `lib.erfInv(${a})`),
  abs: call("Math.abs"), sign: call("lib.sign"), floor: call("Math.floor"), ceil: call("Math.ceil"), round: call("lib.roundEven"),
  not: ([a], d) => (d === "bool" ? `${a} ? 0 : 1` : `~${a}`),
  is_finite: ([a]) => `Number.isFinite(${a}) ? 1 : 0`,
  add: infix("+"), sub: infix("-"),
  mul: (a, d) => (int(d) ? call("Math.imul")(a, d, d) : infix("*")(a, d, d)),
  div: (a, d) => (int(d) ? call("lib.idiv")(a, d, d) : infix("/")(a, d, d)),
  rem: (a, d) => (int(d) ? call("lib.irem")(a, d, d) : infix("%")(a, d, d)),
  pow: (a, d) => (int(d) ? call("lib.ipow")(a, d, d) : call("Math.pow")(a, d, d)),
  max: ([a, b]) => `(${a} > ${b} || ${a} !== ${a}) ? ${a} : ${b}`,
  min: ([a, b]) => `(${a} < ${b} || ${a} !== ${a}) ? ${a} : ${b}`,
  atan2: call("Math.atan2"),
  eq: cmp("==="), ne: cmp("!=="), lt: cmp("<"), le: cmp("<="), gt: cmp(">"), ge: cmp(">="),
  and: infix("&"), or: infix("|"), xor: infix("^"),
  shift_left: ([a, b]) => `(${b} >>> 0) >= 32 ? 0 : ${a} << ${b}`,
  shift_right_logical: ([a, b]) => `(${b} >>> 0) >= 32 ? 0 : (${a} >>> ${b})`,
  select: ([p, t, f]) => `${p} ? ${t} : ${f}`,
  convert_element_type: ([a], from, to) =>
    to === "bool" ? `${a} !== 0 ? 1 : 0` : isFloat(from as DType) && isInt(to as DType) ? `Math.trunc(${a})` : a,
};

// Ops whose result is one of their operands, so already representable in the output dtype.
const EXACT = new Set(["select", "max", "min"]);

/** Rounds a JS number to what a typed array of `dtype` would store. Bool results are already 0/1. */
function cast(expr: string, dtype: IRType): string {
  switch (dtype) {
    case "float32": return `Math.fround(${expr})`;
    case "int32": return `(${expr}) | 0`;
    case "uint32": return `(${expr}) >>> 0`;
    default: return expr;
  }
}

const REDUCE: Record<ReduceOp, { init: string; combine: (acc: string, v: string) => string }> = {
  sum: { init: "0", combine: (acc, v) => `${acc} + ${v}` },
  prod: { init: "1", combine: (acc, v) => `${acc} * ${v}` },
  max: { init: "-Infinity", combine: (acc, v) => `(${v} > ${acc} || ${v} !== ${v}) ? ${v} : ${acc}` },
  min: { init: "Infinity", combine: (acc, v) => `(${v} < ${acc} || ${v} !== ${v}) ? ${v} : ${acc}` },
};

function literal(v: number): string {
  if (Object.is(v, -0)) return "(-0)";
  if (Number.isNaN(v)) return "NaN";
  return v < 0 ? `(${v})` : String(v);
}

/** One loop of a rendered kernel: over one axis, or over trailing axes merged into one. */
interface Loop {
  v: string;
  extent: number;
  /** The element stride of the loop variable in the loop space (row-major). */
  stride: number;
}

/**
 * The source of a function `(out, in0, in1, ...) => void` computing the kernel.
 *
 * Loops run over the kept axes, then the reduced ones. Each statement sits in the
 * outermost loop whose indices it reads, so a broadcast operand is loaded once per row
 * rather than once per element (inputs never alias the output, so hoisted loads stay
 * valid); trailing axes no statement reads individually merge into one loop.
 */
export function renderJs(k: Kernel): string {
  const rank = k.shape.length;
  const reduced = new Set(k.reduce?.axes ?? []);
  const kept = [...k.shape.keys()].filter((d) => !reduced.has(d));
  const red = [...reduced].sort((a, b) => a - b);
  // Row-major unless a reduced axis precedes a kept one; then the flat index is computed, not counted.
  const rowMajor = red.every((a, i) => a === rank - red.length + i);
  const nodes = topoSort(k.body);
  const usesFlat = nodes.some((n) => n.op === "flat");
  const counted = !k.reduce || (usesFlat && rowMajor);
  const st = stridesOf(k.shape);

  // The last group's trailing axes that are consecutive and never read by an idx node merge.
  const read = new Set(nodes.filter((n) => n.op === "idx").map((n) => n.arg!));
  const last = k.reduce && red.length > 0 ? red : kept;
  let from = last.length;
  while (from > 0 && !read.has(last[from - 1]) && (from === last.length || last[from - 1] === last[from] - 1)) from--;
  if (from === last.length - 1) from = last.length;
  const single = (d: number): Loop => ({ v: `i${d}`, extent: k.shape[d], stride: st[d] });
  const group = (axes: number[]): Loop[] => {
    if (axes !== last || from === last.length) return axes.map(single);
    const tail = last.slice(from);
    return [...last.slice(0, from).map(single), { v: "m", extent: tail.reduce((a, d) => a * k.shape[d], 1), stride: st[tail[tail.length - 1]] }];
  };
  const keptLoops = group(kept);
  const loops = [...keptLoops, ...(k.reduce ? group(red) : [])];
  const levelOf = new Map<string, number>(loops.map((l, i) => [l.v, i]));
  const inner = loops.length - 1;
  const flatName = counted ? "f" : inner < 0 ? "0" : `f${inner}`;

  const { lines, nodes: lineNodes, value } = emitBody(k.body, {
    literal: (n) => literal(n.arg!),
    idiv: (x, y) => `Math.floor(${x} / ${y})`,
    alu(n, a) {
      const t = ALU[n.op];
      if (!t) throw new Error(`renderJs: no JavaScript for IR op ${n.op}`);
      const e = t(a, n.args[n.op === "select" ? 1 : 0].dtype, n.dtype);
      return EXACT.has(n.op) ? e : cast(e, n.dtype);
    },
    declare: (v, _n, expr) => `const ${v} = ${expr};`,
  }, (axis) => `i${axis}`, flatName);

  // The loop level each node needs (-1: before every loop).
  const depth = new Map<IRNode, number>();
  for (const n of nodes) {
    const d = n.op === "idx" ? levelOf.get(`i${n.arg}`)! : n.op === "flat" ? inner : Math.max(-1, ...n.args.map((a) => depth.get(a)!));
    depth.set(n, d);
  }
  const at: string[][] = Array.from({ length: loops.length + 1 }, () => []);
  lineNodes.forEach((n, i) => at[depth.get(n)! + 1].push(lines[i]));
  if (usesFlat && !counted) loops.forEach((l, i) => at[i + 1].unshift(`const f${i} = ${i === 0 ? "" : `f${i - 1} + `}${l.v} * ${l.stride};`));

  const r = k.reduce ? REDUCE[k.reduce.op] : null;
  const innermost = r ? `acc = ${r.combine("acc", value)};${counted ? "\nf++;" : ""}` : `out[f] = ${value};\nf++;`;
  const loop = (level: number): string => {
    const l = loops[level];
    return `for (let ${l.v} = 0; ${l.v} < ${l.extent}; ${l.v}++) {\n${block(level)}\n}`;
  };
  // The statements inside loop `level` (-1: the function body).
  const block = (level: number): string => {
    const out = [...at[level + 1]];
    if (r && level === keptLoops.length - 1) {
      out.push(`let acc = ${r.init};`, level === inner ? innermost : loop(level + 1), "out[o++] = acc;");
    } else out.push(level === inner ? innermost : loop(level + 1));
    return out.join("\n");
  };
  const prelude = [counted ? "let f = 0;" : "", r ? "let o = 0;" : ""].filter(Boolean).join("\n");
  const ins = k.inputs.map((_, i) => `in${i}`);
  return `return function kernel(out${ins.map((n) => `, ${n}`).join("")}) {\n${prelude}\n${block(-1)}\n};`;
}

const compiled = new Map<string, KernelFn>();

/** The compiled loop of a kernel, cached by its source text. */
export function compileJs(k: Kernel): { fn: KernelFn; source: string; fresh: boolean } {
  const source = renderJs(k);
  let fn = compiled.get(source);
  const fresh = !fn;
  if (!fn) {
    fn = new Function("lib", source)(lib) as KernelFn;
    compiled.set(source, fn);
  }
  return { fn, source, fresh };
}

/** Kernels compiled so far (fresh sources only). */
export const jsKernelStats = { compiled: 0 };
const byKernel = new WeakMap<Kernel, KernelFn>();

/** The compiled loop of a kernel object, memoised on the object (plans keep their kernels). */
export function jsKernel(k: Kernel): KernelFn {
  let fn = byKernel.get(k);
  if (!fn) {
    const c = compileJs(k);
    if (c.fresh) jsKernelStats.compiled++;
    fn = c.fn;
    byKernel.set(k, fn);
  }
  return fn;
}

/**
 * How WGSL spells kernel IR (core/compiler/ir.ts): the ALU table, on the kernel skeleton of
 * ../clike/kernels/ir-kernel.ts. Floats are f32 throughout, so results match the CPU's
 * (which rounds every op to float32 but accumulates sums in float64) within float32 error.
 */
import type { DType } from "../../dtype.ts";
import { emitBody, type Dialect, type IRType, type Kernel } from "../../compiler/ir.ts";
import { decoder, renderIrKernel } from "../clike/kernels/ir-kernel.ts";
import { WGSL } from "../clike/wgsl.ts";
import { wgslPass, type GpuProgram, type OutputStore, type Pass } from "./program.ts";
import { binding, helpers, literal, wgslType } from "./wgsl.ts";

type Emit = (a: string[], from: IRType, to: IRType, use: (h: string) => void) => string;

const isF = (d: IRType) => d === "float32";
const zero = (d: IRType) => literal(0, d as DType | "index");
const call = (f: string, helper?: string): Emit => (a, _f, _t, use) => {
  if (helper) use(helper);
  return `${f}(${a.join(", ")})`;
};
const infix = (op: string): Emit => ([a, b]) => `(${a} ${op} ${b})`;
const cmp = (op: string): Emit => ([a, b]) => `select(0u, 1u, ${a} ${op} ${b})`;
const floatOnly = (f: string, helper?: string): Emit => (a, from, to, use) => {
  if (!isF(from)) throw new Error(`webgpu: ${f} of ${from} is not supported`);
  return call(f, helper)(a, from, to, use);
};

/** WGSL for each ALU op, by operand dtype. Booleans are u32 0/1. */
const ALU: Record<string, Emit> = {
  neg: ([a], d) => (d === "uint32" ? `(0u - ${a})` : `(-${a})`),
  exp: floatOnly("exp"), log: floatOnly("log"), sqrt: floatOnly("sqrt"), rsqrt: floatOnly("inverseSqrt"),
  sin: floatOnly("sin"), cos: floatOnly("cos"), tan: floatOnly("tan"),
  log1p: floatOnly("log1p_", "log1p"), expm1: floatOnly("expm1_", "expm1"), tanh: floatOnly("tanh_", "tanh"),
  logistic: floatOnly("logistic_", "logistic"), erf: floatOnly("erf_", "erf"), erf_inv: floatOnly("erf_inv_", "erf_inv"),
  abs: ([a], d) => (d === "uint32" || d === "bool" ? a : `abs(${a})`),
  sign: ([a], d) => (d === "uint32" ? `select(0u, 1u, ${a} > 0u)` : `select(select(${a}, ${literal(-1, d as DType)}, ${a} < ${zero(d)}), ${literal(1, d as DType)}, ${a} > ${zero(d)})`),
  floor: ([a], d) => (isF(d) ? `floor(${a})` : a),
  ceil: ([a], d) => (isF(d) ? `ceil(${a})` : a),
  round: ([a], d) => (isF(d) ? `round(${a})` : a),
  not: ([a], d) => (d === "bool" ? `(1u - ${a})` : `(~${a})`),
  is_finite: ([a]) => `select(0u, 1u, (bitcast<u32>(${a}) & 0x7f800000u) != 0x7f800000u)`,
  add: infix("+"), sub: infix("-"), mul: infix("*"),
  div: ([a, b], d) => (isF(d) ? `(${a} / ${b})` : `select(${a} / ${b}, ${zero(d)}, ${b} == ${zero(d)})`),
  rem: ([a, b], d) => (isF(d) ? `(${a} % ${b})` : `select(${a} % ${b}, ${zero(d)}, ${b} == ${zero(d)})`),
  pow: (a, d, _t, use) => {
    const h = d === "int32" ? "ipow" : d === "uint32" ? "upow" : "pow";
    use(h);
    return `${h}_(${a.join(", ")})`;
  },
  max: ([a, b], d, _t, use) => {
    if (!isF(d)) return `max(${a}, ${b})`;
    use("isnan");
    return `select(${b}, ${a}, ${a} > ${b} || isnan_(${a}))`;
  },
  min: ([a, b], d, _t, use) => {
    if (!isF(d)) return `min(${a}, ${b})`;
    use("isnan");
    return `select(${b}, ${a}, ${a} < ${b} || isnan_(${a}))`;
  },
  atan2: floatOnly("atan2"),
  eq: cmp("=="), ne: cmp("!="), lt: cmp("<"), le: cmp("<="), gt: cmp(">"), ge: cmp(">="),
  and: infix("&"), or: infix("|"), xor: infix("^"),
  shift_left: ([a, b], d) => `select(${a} << (u32(${b}) & 31u), ${zero(d)}, u32(${b}) >= 32u)`,
  shift_right_logical: ([a, b], d) =>
    d === "int32"
      ? `select(bitcast<i32>(bitcast<u32>(${a}) >> (u32(${b}) & 31u)), 0, u32(${b}) >= 32u)`
      : `select(${a} >> (u32(${b}) & 31u), 0u, u32(${b}) >= 32u)`,
  select: ([p, t, f]) => `select(${f}, ${t}, ${p} != 0u)`,
  convert_element_type: ([a], from, to) => convert(a, from, to),
};

/** A value of dtype `from` as dtype `to`, as the CPU converts (float to int truncates and saturates). */
export function convert(a: string, from: IRType, to: IRType): string {
  const f = wgslType(from as DType), t = wgslType(to as DType);
  if (to === "bool") return `select(0u, 1u, ${a} != ${zero(from)})`;
  if (f === t) return a;
  if (f === "f32" && t !== "f32") {
    // WGSL's i32()/u32() saturate, but at the largest f32 below 2^31 (2^32), not at the type's
    // maximum; NaN (exponent all ones, mantissa nonzero) is 0, as on the CPU.
    const [top, max] = t === "i32" ? ["2147483648.0", "2147483647"] : ["4294967296.0", "4294967295u"];
    return `select(select(${t}(${a}), ${max}, ${a} >= ${top}), ${t}(0), (bitcast<u32>(${a}) & 0x7fffffffu) > 0x7f800000u)`;
  }
  if (from === "bool" || f === "f32" || t === "f32") return `${t}(${a})`;
  return `bitcast<${t}>(${a})`;
}

/** How WGSL spells kernel bodies; `use` collects the helper functions the body calls. */
function wgslDialect(use: (h: string) => void, load?: Dialect["load"]): Dialect {
  return {
    literal: (n) => literal(n.arg!, n.dtype as DType | "index"),
    idiv: (x, y) => `${x} / ${y}`,
    alu(n, a) {
      const t = ALU[n.op];
      if (!t) throw new Error(`webgpu: no WGSL for IR op ${n.op}`);
      return t(a, n.args[n.op === "select" ? 1 : 0].dtype, n.dtype, use);
    },
    declare: (v, _n, expr) => `  let ${v} = ${expr};`,
    load,
  };
}

/** One WGSL pass computing the kernel; binding k < inputs.length is input k, the last is the output. */
export function renderWgsl(k: Kernel): Pass {
  return wgslPass(renderIrKernel(WGSL, k, (use) => wgslDialect((h) => use.add(h))));
}

/**
 * The program `make` builds (a dot or convolution) with kernel `k` applied in every store to
 * its output, so the fused pair runs as one program: `make` routes each write of output 0
 * through the `OutputStore` it is given, which wraps the value in `epi_`. `k`'s input
 * `input` is the value being stored, read at `k`'s own loop point (fuse.ts only attaches
 * such kernels); its other inputs j are bound as `ep{slot}` after each storing pass's own
 * bindings and refer to the program's input `base + slot`. Null where the program stores
 * nothing through the hook or a pass would bind more than `maxBindings`.
 *
 * @example
 * const fused = withEpilogue((out) => dotProgram(ins, [outAval], params, undefined, out), kernel, 0, 2, 8);
 * // run with runProgram(fused, [lhs, rhs, ...kernelInputsBut0], [kernelOut])
 */
export function withEpilogue(make: (out: OutputStore) => GpuProgram, k: Kernel, input: number, base: number, maxBindings: number): GpuProgram | null {
  if (k.reduce || k.inputs[input]?.dtype !== k.out.dtype) return null;
  const T = wgslType(k.out.dtype);
  const slot = (j: number) => (j < input ? j : j - 1);
  const used = new Set<string>();
  const idx = decoder(k.shape, [...k.shape.keys()], "ei");
  const load = (buf: number, index: string) => (buf === input ? "ev" : `ep${slot(buf)}[${index}]`);
  const { lines, value } = emitBody(k.body, wgslDialect((h) => used.add(h), load), (a) => idx.get(a)!, "ei");
  const epi = `fn epi_(ei: u32, ev: ${T}) -> ${T} {\n${lines.join("\n")}\n  return ${value};\n}`;
  const others = k.inputs.flatMap((b, j) => (j === input ? [] : [b]));
  let stores = 0;
  const out: OutputStore = {
    store(i, v) {
      stores++;
      return `out[${i}] = epi_(${i}, ${v});`;
    },
    decls: (first) => [...others.map((b, j) => binding(first + j, `ep${j}`, b.dtype)), ...helpers(used), epi].join("\n"),
    bindings: others.map((_, j) => ({ in: base + j })),
  };
  const program = make(out);
  if (stores === 0 || program.passes.some((p) => p.bindings.length > maxBindings)) return null;
  return program;
}

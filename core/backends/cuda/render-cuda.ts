/**
 * How CUDA C spells kernel IR (core/compiler/ir.ts): the ALU table, on the kernel skeleton
 * of ../clike/kernels/ir-kernel.ts.
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
import type { Dialect, IRType, Kernel } from "../../compiler/ir.ts";
import { renderIrKernel, type ReduceStrategy } from "../clike/kernels/ir-kernel.ts";
import { CUDA } from "../clike/cuda.ts";
import { cudaPass, type Pass } from "./program.ts";
import { ctype, literal } from "./cuda-c.ts";

export type { ReduceStrategy };

type Emit = (a: string[], from: IRType, to: IRType, use: (h: string) => void) => string;

const isF = (d: IRType) => d === "float32" || d === "float64";
/** The C math function for `name` at the operand's precision (`expf` or `exp`). */
const fn = (name: string): Emit => (a, from) => {
  if (!isF(from)) throw new Error(`cuda: ${name} of ${from} is not supported`);
  return `${name}${from === "float32" ? "f" : ""}(${a.join(", ")})`;
};
const one = (d: IRType) => literal(1, d as DType | "index");
const zero = (d: IRType) => literal(0, d as DType | "index");
/** Wrapping int32 arithmetic goes through unsigned (signed overflow is undefined in C). */
const wrapped = (op: string): Emit => ([a, b], d) =>
  d === "int32" ? `(int)((unsigned)${a} ${op} (unsigned)${b})` : d === "bool" ? `(unsigned char)(${a} ${op} ${b})` : `(${a} ${op} ${b})`;
const cmp = (op: string): Emit => ([a, b]) => `(${a} ${op} ${b})`;

/** CUDA C for each ALU op, by operand dtype. Booleans are 0/1 values. */
const ALU: Record<string, Emit> = {
  neg: ([a], d) => (isF(d) ? `(-${a})` : `(${ctype(d)})(0u - (unsigned)${a})`),
  exp: fn("exp"), log: fn("log"), log1p: fn("log1p"), expm1: fn("expm1"), sqrt: fn("sqrt"),
  sin: fn("sin"), cos: fn("cos"), tan: fn("tan"), tanh: fn("tanh"), erf: fn("erf"), erf_inv: fn("erfinv"),
  // The CPU computes 1 / sqrt(x), correctly rounded; rsqrtf is only within 2 ulp.
  rsqrt: ([a], d) => `(${one(d)} / ${fn("sqrt")([a], d, d, () => {})})`,
  logistic: ([a], d) => `(${one(d)} / (${one(d)} + ${fn("exp")([`-${a}`], d, d, () => {})}))`,
  abs: ([a], d) => (isF(d) ? fn("fabs")([a], d, d, () => {}) : d === "int32" ? `(${a} < 0 ? (int)(0u - (unsigned)${a}) : ${a})` : a),
  sign: ([a], d) => (d === "uint32" || d === "bool" ? `(${a} > 0u ? 1u : 0u)` : `(${a} > ${zero(d)} ? ${one(d)} : (${a} < ${zero(d)} ? ${literal(-1, d as DType)} : ${a}))`),
  floor: ([a], d) => (isF(d) ? fn("floor")([a], d, d, () => {}) : a),
  ceil: ([a], d) => (isF(d) ? fn("ceil")([a], d, d, () => {}) : a),
  // rint rounds half to even in the default rounding mode, as NumPy and the CPU round.
  round: ([a], d) => (isF(d) ? fn("rint")([a], d, d, () => {}) : a),
  not: ([a], d) => (d === "bool" ? `(unsigned char)(1u - ${a})` : `(${ctype(d)})(~${a})`),
  is_finite: ([a], d) =>
    d === "float32" ? `((__float_as_uint(${a}) & 0x7f800000u) != 0x7f800000u)`
      : d === "float64" ? `((__double_as_longlong(${a}) & 0x7ff0000000000000ll) != 0x7ff0000000000000ll)` : "1",
  add: wrapped("+"), sub: wrapped("-"),
  mul: ([a, b], d, t, use) => (d === "float32" ? `__fmul_rn(${a}, ${b})` : d === "float64" ? `__dmul_rn(${a}, ${b})` : wrapped("*")([a, b], d, t, use)),
  div: ([a, b], d, _t, use) => {
    if (isF(d)) return `(${a} / ${b})`;
    if (d === "int32") return use("idiv_i32"), `aug_idiv_i32(${a}, ${b})`;
    return `(${b} == 0u ? ${zero(d)} : (${ctype(d)})(${a} / ${b}))`;
  },
  rem: ([a, b], d, _t, use) => {
    if (isF(d)) return fn("fmod")([a, b], d, d, use);
    if (d === "int32") return use("irem_i32"), `aug_irem_i32(${a}, ${b})`;
    return `(${b} == 0u ? ${zero(d)} : (${ctype(d)})(${a} % ${b}))`;
  },
  pow: ([a, b], d, _t, use) => {
    const h = d === "float32" ? "pow_f32" : d === "float64" ? "pow_f64" : d === "int32" ? "ipow_i32" : "upow_u32";
    use(h);
    return `aug_${h}(${a}, ${b})`;
  },
  max: ([a, b], d) => (isF(d) ? `((${a} > ${b} || ${a} != ${a}) ? ${a} : ${b})` : `(${a} > ${b} ? ${a} : ${b})`),
  min: ([a, b], d) => (isF(d) ? `((${a} < ${b} || ${a} != ${a}) ? ${a} : ${b})` : `(${a} < ${b} ? ${a} : ${b})`),
  atan2: fn("atan2"),
  eq: cmp("=="), ne: cmp("!="), lt: cmp("<"), le: cmp("<="), gt: cmp(">"), ge: cmp(">="),
  and: ([a, b], d) => `(${ctype(d)})(${a} & ${b})`,
  or: ([a, b], d) => `(${ctype(d)})(${a} | ${b})`,
  xor: ([a, b], d) => `(${ctype(d)})(${a} ^ ${b})`,
  shift_left: ([a, b], d) => `((unsigned)${b} >= 32u ? ${zero(d)} : (${ctype(d)})((unsigned)${a} << (unsigned)${b}))`,
  shift_right_logical: ([a, b], d) => `((unsigned)${b} >= 32u ? ${zero(d)} : (${ctype(d)})((unsigned)${a} >> (unsigned)${b}))`,
  select: ([p, t, f]) => `(${p} ? ${t} : ${f})`,
  convert_element_type: ([a], from, to, use) => convert(a, from, to, use),
};

/** A value of dtype `from` as dtype `to`, as the CPU converts (float to integer truncates and saturates). */
export function convert(a: string, from: IRType, to: IRType, use: (h: string) => void): string {
  if (to === "bool") return `(${a} != ${zero(from)})`;
  if (from === to) return a;
  if (isF(from) && (to === "int32" || to === "uint32")) {
    use("to_int");
    return `${to === "int32" ? "aug_to_i32" : "aug_to_u32"}((double)${a})`;
  }
  return `(${ctype(to)})${a}`;
}

/** How CUDA C spells kernel bodies; `use` collects the helper functions the body calls. */
function cudaDialect(use: (h: string) => void): Dialect {
  return {
    literal: (n) => literal(n.arg!, n.dtype),
    idiv: (x, y) => `${x} / ${y}`,
    alu(n, a) {
      const t = ALU[n.op];
      if (!t) throw new Error(`cuda: no CUDA C for IR op ${n.op}`);
      return t(a, n.args[n.op === "select" ? 1 : 0].dtype, n.dtype, use);
    },
    declare: (v, n, expr) => `const ${ctype(n.dtype)} ${v} = ${expr};`,
  };
}

/**
 * One launch computing the kernel; parameter k < inputs.length is input k, the last is the
 * output. `reduce` forces a reduction strategy (tests render both).
 */
export function renderCuda(k: Kernel, opts: { reduce?: ReduceStrategy } = {}): Pass {
  return cudaPass(renderIrKernel(CUDA, k, (use) => cudaDialect((h) => use.add(h)), opts));
}

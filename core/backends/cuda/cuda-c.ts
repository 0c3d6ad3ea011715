/**
 * Small CUDA C building blocks shared by the kernel rules and the IR renderer: element
 * types, exact literals, parameter declarations, the standard entry point over a linear
 * range, and device helpers for ops whose CPU semantics C does not give directly.
 *
 * Generated sources include no headers (NVRTC has none by default), so they use only
 * builtins: math functions, `__float_as_uint` and friends, `__syncthreads`, `atomicAdd`.
 * Every kernel's entry point is `extern "C" __global__ void augerino_kernel(...)`, whose
 * parameters are the pass's buffers in order.
 *
 * bool is stored as one byte (`unsigned char`, 0 or 1), exactly like the CPU's Uint8Array:
 * CUDA memory is byte-addressable and byte stores from different threads never disturb
 * their neighbours, so uploads and reads are plain copies with no conversion pass, and
 * bool arrays take a quarter of the memory a 32-bit encoding would.
 */
import type { DType } from "../../dtype.ts";

/** The entry point every generated module defines. */
export const ENTRY = "augerino_kernel";

/** Threads per block of one-thread-per-element kernels. */
export const THREADS = 256;

/** Largest element count of an array on the CUDA backend: kernels index with 32-bit unsigned integers. */
export const MAX_ELEMENTS = 2 ** 32 - 1;

export type CType = "float" | "double" | "int" | "unsigned" | "unsigned char";

/** The C type an array of `dtype` is stored as ("index" is loop-index arithmetic). */
export function ctype(dtype: DType | "index"): CType {
  switch (dtype) {
    case "float32":
      return "float";
    case "float64":
      return "double";
    case "int32":
      return "int";
    case "uint32":
    case "index":
      return "unsigned";
    case "bool":
      return "unsigned char";
  }
}

const f32Bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
const f64Bits = (x: number) => new BigUint64Array(new Float64Array([x]).buffer)[0];
const hex = (v: number | bigint) => `0x${v.toString(16)}`;

/** Whether a decimal string reads as a floating literal in C (has a point or an exponent). */
const floaty = (s: string) => (/[.eE]/.test(s) ? s : `${s}.0`);

/** An exact C literal of `dtype`: non-finite, negative-zero and subnormal floats go through their bit patterns. */
export function literal(v: number | boolean, dtype: DType | "index"): string {
  const x = typeof v === "boolean" ? (v ? 1 : 0) : v;
  switch (dtype) {
    case "float32": {
      const f = Math.fround(x);
      if (!Number.isFinite(f) || Object.is(f, -0) || (f !== 0 && Math.abs(f) < 1.1754943508222875e-38)) return `__uint_as_float(${hex(f32Bits(f))}u)`;
      return f < 0 ? `(${floaty(f.toPrecision(9))}f)` : `${floaty(f.toPrecision(9))}f`;
    }
    case "float64":
      if (!Number.isFinite(x) || Object.is(x, -0) || (x !== 0 && Math.abs(x) < 2.2250738585072014e-308)) return `__longlong_as_double(${hex(f64Bits(x))}ll)`;
      return x < 0 ? `(${floaty(x.toPrecision(17))})` : floaty(x.toPrecision(17));
    case "int32": {
      const i = x | 0;
      return i === -2147483648 ? "(-2147483647 - 1)" : i < 0 ? `(${i})` : `${i}`;
    }
    case "uint32":
    case "index":
      return `${x >>> 0}u`;
    case "bool":
      return x ? "1" : "0";
  }
}

/** A kernel parameter: `const T* __restrict__ name` (or writable). */
export function param(name: string, dtype: DType | "index", write = false): string {
  return `${write ? "" : "const "}${ctype(dtype)}* __restrict__ ${name}`;
}

/** Blocks needed for `n` threads in blocks of `threads` (at least one, so empty launches stay valid). */
export function blocks(n: number, threads = THREADS): number {
  return Math.max(1, Math.ceil(n / threads));
}

/** A whole module: helper definitions, then the entry point with `params` running `body`. */
export function kernel(params: string[], body: string, helperNames: Iterable<string> = [], threads = THREADS, prelude = ""): string {
  return `${[...helpers(helperNames), prelude].filter(Boolean).join("\n")}
extern "C" __global__ void __launch_bounds__(${threads}) ${ENTRY}(${params.join(", ")}) {
${body}
}
`;
}

/**
 * A module running `body` once per index `gi` in [0, n) (an `unsigned`); the linear thread
 * index is formed in 64 bits so the bounds check cannot wrap.
 */
export function perElement(params: string[], n: number, body: string, helperNames: Iterable<string> = [], threads = THREADS): string {
  return kernel(
    params,
    `  const unsigned long long g = (unsigned long long)blockIdx.x * ${threads}u + threadIdx.x;
  if (g >= ${n >>> 0}ull) return;
  const unsigned gi = (unsigned)g;
${body}`,
    helperNames,
    threads,
  );
}

const NAN_F = "__uint_as_float(0x7fc00000u)";
const INF_F = "__uint_as_float(0x7f800000u)";
const NAN_D = "__longlong_as_double(0x7ff8000000000000ll)";
const INF_D = "__longlong_as_double(0x7ff0000000000000ll)";

/** Device helpers, included by name when a kernel uses them. */
export const HELPERS: Record<string, string> = {
  // JavaScript's Math.pow differs from C's pow only for a NaN exponent (NaN even for base 1)
  // and for base +-1 with an infinite exponent (NaN, where C gives 1).
  pow_f32: `static __device__ __forceinline__ float aug_pow_f32(float a, float b) {
  if (b != b) return b;
  if (b == 0.0f) return 1.0f;
  if ((a == 1.0f || a == -1.0f) && fabsf(b) == ${INF_F}) return ${NAN_F};
  return powf(a, b);
}`,
  pow_f64: `static __device__ __forceinline__ double aug_pow_f64(double a, double b) {
  if (b != b) return b;
  if (b == 0.0) return 1.0;
  if ((a == 1.0 || a == -1.0) && fabs(b) == ${INF_D}) return ${NAN_D};
  return pow(a, b);
}`,
  // Integer powers wrap modulo 2^32 like the CPU's Math.imul loop; negative exponents give 1/a truncated.
  ipow_i32: `static __device__ __forceinline__ int aug_ipow_i32(int a, int b) {
  if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) == 0 ? 1 : -1) : 0);
  unsigned r = 1u, base = (unsigned)a, e = (unsigned)b;
  while (e != 0u) { if (e & 1u) r *= base; base *= base; e >>= 1; }
  return (int)r;
}`,
  upow_u32: `static __device__ __forceinline__ unsigned aug_upow_u32(unsigned a, unsigned b) {
  unsigned r = 1u, base = a, e = b;
  while (e != 0u) { if (e & 1u) r *= base; base *= base; e >>= 1; }
  return r;
}`,
  // Integer division and remainder by zero give 0, and INT_MIN / -1 wraps, as on the CPU.
  idiv_i32: `static __device__ __forceinline__ int aug_idiv_i32(int a, int b) {
  return b == 0 ? 0 : (b == -1 ? (int)(0u - (unsigned)a) : a / b);
}`,
  irem_i32: `static __device__ __forceinline__ int aug_irem_i32(int a, int b) {
  return (b == 0 || b == -1) ? 0 : a % b;
}`,
  // XLA's float-to-integer conversion, as the CPU kernels do: truncate, saturate, NaN to 0
  // (C's own cast is undefined out of range).
  to_int: `static __device__ __forceinline__ int aug_to_i32(double x) {
  return x != x ? 0 : x <= -2147483648.0 ? (int)-2147483648LL : x >= 2147483647.0 ? 2147483647 : (int)x;
}
static __device__ __forceinline__ unsigned aug_to_u32(double x) {
  return x != x ? 0u : x <= 0.0 ? 0u : x >= 4294967295.0 ? 4294967295u : (unsigned)x;
}`,
};

/** The helper sources for a set of helper names, each once. */
export function helpers(names: Iterable<string>): string[] {
  return [...new Set(names)].map((n) => {
    const h = HELPERS[n];
    if (!h) throw new Error(`cuda: unknown device helper ${n}`);
    return h;
  });
}

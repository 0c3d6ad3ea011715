/**
 * Small WGSL building blocks shared by the kernel rules and the IR renderer: storage
 * types, literals, binding declarations and the standard entry point over a linear range.
 */
import type { DType } from "../../dtype.ts";

/** Default workgroup size for one-invocation-per-element kernels. */
export const WG = 64;

export type WgslType = "f32" | "i32" | "u32";

/** The WGSL element type an array of `dtype` is stored as. bool is one u32 (0 or 1) per element. */
export function wgslType(dtype: DType | "index"): WgslType {
  switch (dtype) {
    case "float32":
      return "f32";
    case "int32":
      return "i32";
    case "uint32":
    case "bool":
    case "index":
      return "u32";
    case "float64":
      throw new Error("webgpu: float64 is not supported (WGSL has no 64-bit floats); use float32 there or keep the array on the CPU");
  }
}

/** Bytes per element as stored on the GPU (bool takes 4). */
export const GPU_ELEM_BYTES = 4;

/**
 * WGSL rejects infinite and NaN constant expressions, so non-finite literals bitcast these
 * private variables (not constants) at run time. Every module skeleton declares them (the
 * C-like dialect's modules, `perElements`, the product kernels), so any body or epilogue may
 * name them; unused ones compile to nothing.
 */
export const NONFINITE = "var<private> kPosInf: u32 = 0x7f800000u;\nvar<private> kNegInf: u32 = 0xff800000u;\nvar<private> kNaN: u32 = 0x7fc00000u;";

const F32_MAX = 3.4028234663852886e38;

/** A WGSL literal of `dtype`; non-finite floats go through their bit patterns. */
export function literal(v: number | boolean, dtype: DType | "index"): string {
  const t = wgslType(dtype);
  const x = typeof v === "boolean" ? (v ? 1 : 0) : v;
  if (t === "f32") {
    if (Number.isNaN(x)) return "bitcast<f32>(kNaN)";
    if (x === Infinity) return "bitcast<f32>(kPosInf)";
    if (x === -Infinity) return "bitcast<f32>(kNegInf)";
    if (Object.is(x, -0)) return "bitcast<f32>(0x80000000u)";
    const f = Math.fround(x);
    if (!Number.isFinite(f)) return f > 0 ? "bitcast<f32>(kPosInf)" : "bitcast<f32>(kNegInf)";
    const digits = f.toPrecision(9);
    // Subnormals, and the largest floats, whose 9-digit decimal rounds past FLT_MAX (WGSL rejects it), go as bits.
    if ((f !== 0 && Math.abs(f) < 1.1754943508222875e-38) || Math.abs(Number(digits)) > F32_MAX) return `bitcast<f32>(${new Uint32Array(new Float32Array([f]).buffer)[0]}u)`;
    return `f32(${digits})`;
  }
  if (t === "i32") return x === -2147483648 ? "i32(-2147483647 - 1)" : `i32(${x | 0})`;
  return `${x >>> 0}u`;
}

/** The builtins every kernel's `main` takes; `linearWorkgroup` and `gi` are defined from them. */
export const MAIN_ARGS = "@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32";

/**
 * Workgroups per side of the dispatch grid: the runtime dispatches a count up to this as
 * one row of exactly that many, and a larger one as rows of this many (the last row padded).
 */
export const GRID_SIDE = 65535;

/** The linear workgroup index (the runtime may spread workgroups over a 2-D grid). */
export const LINEAR_WORKGROUP = "(wid.x + wid.y * nwg.x)";

/** Workgroups needed for `n` invocations of size `wg` (at least one, so empty launches stay valid). */
export function groups(n: number, wg = WG): number {
  return Math.max(1, Math.ceil(n / wg));
}

/** WGSL helper functions for ops WGSL lacks, included by name when a kernel uses them. */
export const HELPERS: Record<string, string> = {
  // log1p/expm1 via the classic correction terms (exact where 1+x rounds to 1).
  log1p: `fn log1p_(x: f32) -> f32 { let u = 1.0 + x; if (u == 1.0) { return x; } let l = log(u); if (isinf_(u)) { return l; } return l * x / (u - 1.0); }`,
  expm1: `fn expm1_(x: f32) -> f32 { if (abs(x) < 1e-5) { return x + 0.5 * x * x; } if (x > 88.8) { return exp(x); } return exp(x) - 1.0; }`,
  isinf: `fn isinf_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }`,
  isnan: `fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`,
  // tanh and the logistic have no branches: SwiftShader runs both sides of a branch under a
  // lane mask anyway, and with the control flow around them a fused chain ran 1.3x slower there.
  // tanh as on the CPU (cpu/scalar-math.ts): x (1 + z P(z)) with Cephes' tanhf minimax P on
  // |x| < 0.625, where 1 - e would cancel, else (1 - e) / (1 + e) with e = exp(-2|x|) <= 1,
  // which never overflows (the builtin tanh gives NaN from |x| = 88 on SwiftShader). Both
  // pass NaN on explicitly: SwiftShader's comparisons and exp did not (tanh(NaN) came out -1).
  tanh: `fn tanh_(x: f32) -> f32 {
  let a = abs(x);
  let z = x * x;
  let small = x * (1.0 + z * (-0.333332819 + z * (0.133314422 + z * (-0.0537397155 + z * (0.0206390888 + z * -0.00570498873)))));
  let e = exp(-2.0 * a);
  let t = (1.0 - e) / (1.0 + e);
  return select(select(select(t, -t, x < 0.0), small, a < 0.625), x, isnan_(x));
}`,
  // With e = exp(-|x|) <= 1: 1 / (1 + e) for x >= 0, e / (1 + e) below, so nothing overflows.
  logistic: `fn logistic_(x: f32) -> f32 { let e = exp(-abs(x)); return select(select(1.0, e, x < 0.0) / (1.0 + e), x, isnan_(x)); }`,
  // erf: Taylor series near 0 (relative accuracy), else 1 - erfc with Numerical Recipes' erfc (fractional error < 1.2e-7).
  erf: `fn erf_(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) {
    let t = x * x;
    return x * (1.128379167 + t * (-0.3761263890 + t * (0.1128379167 + t * (-0.02686617064 + t * (0.005223977625 + t * -0.0008548327023)))));
  }
  if (a > 4.0) { return sign(x); }
  let t = 1.0 / (1.0 + 0.5 * a);
  let c = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return sign(x) * (1.0 - c);
}`,
  erf_inv: `fn erf_inv_(y: f32) -> f32 {
  if (y <= -1.0) { if (y == -1.0) { return bitcast<f32>(kNegInf); } return bitcast<f32>(kNaN); }
  if (y >= 1.0) { if (y == 1.0) { return bitcast<f32>(kPosInf); } return bitcast<f32>(kNaN); }
  var w = -log((1.0 - y) * (1.0 + y));
  var p: f32;
  if (w < 5.0) {
    w = w - 2.5;
    p = 2.81022636e-8; p = 3.43273939e-7 + p * w; p = -3.5233877e-6 + p * w; p = -4.39150654e-6 + p * w;
    p = 0.00021858087 + p * w; p = -0.00125372503 + p * w; p = -0.00417768164 + p * w; p = 0.246640727 + p * w; p = 1.50140941 + p * w;
  } else {
    w = sqrt(w) - 3.0;
    p = -0.000200214257; p = 0.000100950558 + p * w; p = 0.00134934322 + p * w; p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w; p = -0.0076224613 + p * w; p = 0.00943887047 + p * w; p = 1.00167406 + p * w; p = 2.83297682 + p * w;
  }
  return p * y;
}`,
  // pow with NumPy's special cases (WGSL's pow is undefined for x < 0).
  pow: `fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (x == 0.0) { if (y > 0.0) { return 0.0; } return bitcast<f32>(kPosInf); }
  if (x < 0.0) {
    if (y != floor(y)) { return bitcast<f32>(kNaN); }
    let m = pow(-x, y);
    if (abs(y) < 16777216.0 && (i32(abs(y)) & 1) == 1) { return -m; }
    return m;
  }
  return pow(x, y);
}`,
  ipow: `fn ipow_(a: i32, b: i32) -> i32 {
  if (b < 0) { if (a == 1) { return 1; } if (a == -1) { if ((b & 1) == 0) { return 1; } return -1; } return 0; }
  var r = 1; var base = a; var e = u32(b);
  loop { if (e == 0u) { break; } if ((e & 1u) == 1u) { r = r * base; } base = base * base; e = e >> 1u; }
  return r;
}`,
  upow: `fn upow_(a: u32, b: u32) -> u32 {
  var r = 1u; var base = a; var e = b;
  loop { if (e == 0u) { break; } if ((e & 1u) == 1u) { r = r * base; } base = base * base; e = e >> 1u; }
  return r;
}`,
  round: `fn round_(x: f32) -> f32 { return round(x); }`,
};

/** Helpers that other helpers call. */
const HELPER_DEPS: Record<string, string[]> = { log1p: ["isinf"], tanh: ["isnan"], logistic: ["isnan"] };

/** The helper sources for a set of helper names, dependencies included, each once. */
export function helpers(names: Iterable<string>): string[] {
  const out = new Set<string>();
  const add = (n: string) => {
    for (const d of HELPER_DEPS[n] ?? []) add(d);
    out.add(n);
  };
  for (const n of names) add(n);
  return [...out].map((n) => HELPERS[n]);
}

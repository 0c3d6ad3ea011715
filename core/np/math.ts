/** Elementwise numpy functions: broadcasting, dtype promotion and weak-typed JS numbers. */
import { NDArray } from "../array.ts";
import { asArray, isTracer, type ArrayLike } from "../convert.ts";
import { isFloat, promoteTypes, weakTypeFor, type DType } from "../dtype.ts";
import { broadcastShapes, shapeEq } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import * as ew from "../primitives/elementwise.ts";
import { broadcastInDim } from "../primitives/shape.ts";

/** Broadcasts an array to `shape` (NumPy rules). */
export function broadcastTo(x: ArrayLike, shape: number[]): Tracer {
  const a = asArray(x);
  if (shapeEq(a.shape, shape)) return a;
  broadcastShapes("broadcastTo", a.shape, shape);
  if (a.ndim > shape.length || !broadcastShapes("broadcastTo", a.shape, shape).every((d, i) => d === shape[i])) {
    throw new Error(`broadcastTo: cannot broadcast [${a.shape}] to [${shape}]`);
  }
  const off = shape.length - a.ndim;
  const kept = a.shape.map((_, i) => i + off);
  return broadcastInDim(a, shape, kept);
}

/** The common dtype of operands; JS numbers adapt to the arrays among them. */
export function resultType(...xs: ArrayLike[]): DType {
  let dtype: DType | undefined;
  for (const x of xs) if (isTracer(x)) dtype = dtype ? promoteTypes(dtype, x.dtype) : x.dtype;
  for (const x of xs) {
    if (isTracer(x)) continue;
    if (typeof x === "number" || typeof x === "boolean") {
      dtype = dtype ? promoteTypes(dtype, weakTypeFor(x, dtype)) : typeof x === "boolean" ? "bool" : "float32";
    } else {
      const d = asArray(x).dtype;
      dtype = dtype ? promoteTypes(dtype, d) : d;
    }
  }
  return dtype ?? "float32";
}

/**
 * Where the JS numbers among `xs` are made: beside the first concrete array (so a float64
 * CPU array times 2 stays on the CPU under a WebGPU default, as JAX's uncommitted scalars
 * follow committed arrays); on the CPU while tracing (constants there move to whichever
 * backend runs the program); else on the default backend.
 */
function homeOf(xs: ArrayLike[]): string | undefined {
  const concrete = xs.find((x) => x instanceof NDArray) as NDArray | undefined;
  if (concrete) return concrete.backend;
  return xs.some(isTracer) ? "cpu" : undefined;
}

/** Converts, promotes and broadcasts operands to a common dtype and shape. */
export function promoteBroadcast(op: string, xs: ArrayLike[], minDtype?: "float"): Tracer[] {
  let dtype = resultType(...xs);
  if (minDtype === "float" && !isFloat(dtype)) dtype = "float32";
  const home = homeOf(xs);
  const arrays = xs.map((x) => astype(asArray(x, dtype, home), dtype));
  const shape = broadcastShapes(op, ...arrays.map((a) => a.shape));
  return arrays.map((a) => broadcastTo(a, shape));
}

export function astype(x: ArrayLike, dtype: DType): Tracer {
  return ew.convertElementType(asArray(x), dtype);
}

// The functions below reach ew's primitives inside arrows: np may load while those modules
// are still loading (core/tracer.ts loads np right after the Tracer class), so np's module
// bodies read no other module's bindings.
const binary =
  (op: string, f: (a: Tracer, b: Tracer) => Tracer, minDtype?: "float") =>
  (x: ArrayLike, y: ArrayLike): Tracer => {
    const [a, b] = promoteBroadcast(op, [x, y], minDtype);
    return f(a, b);
  };
const floatUnary =
  (f: (a: Tracer) => Tracer) =>
  (x: ArrayLike): Tracer => {
    const a = asArray(x);
    return f(isFloat(a.dtype) ? a : astype(a, "float32"));
  };

/** Addition; for two bool arrays it is logical or, as in NumPy. */
export const add = binary("add", (a, b) => (a.dtype === "bool" ? ew.or(a, b) : ew.add(a, b)));
export const sub = binary("sub", (a, b) => ew.sub(a, b));
/** Multiplication; for two bool arrays it is logical and, as in NumPy. */
export const mul = binary("mul", (a, b) => (a.dtype === "bool" ? ew.and(a, b) : ew.mul(a, b)));
/** True division: integer operands give float32, as in NumPy. */
export const div = binary("div", (a, b) => ew.div(a, b), "float");
export const pow = binary("pow", (a, b) => ew.pow(a, b));
export const maximum = binary("maximum", (a, b) => ew.max(a, b));
export const minimum = binary("minimum", (a, b) => ew.min(a, b));
export const atan2 = binary("atan2", (a, b) => ew.atan2(a, b), "float");
/** Remainder with the sign of the dividend (C fmod, lax.rem). */
export const rem = binary("rem", (a, b) => ew.rem(a, b));
export const equal = binary("equal", (a, b) => ew.eq(a, b));
export const notEqual = binary("notEqual", (a, b) => ew.ne(a, b));
export const less = binary("less", (a, b) => ew.lt(a, b));
export const lessEqual = binary("lessEqual", (a, b) => ew.le(a, b));
export const greater = binary("greater", (a, b) => ew.gt(a, b));
export const greaterEqual = binary("greaterEqual", (a, b) => ew.ge(a, b));
export const bitwiseAnd = binary("bitwiseAnd", (a, b) => ew.and(a, b));
export const bitwiseOr = binary("bitwiseOr", (a, b) => ew.or(a, b));
export const bitwiseXor = binary("bitwiseXor", (a, b) => ew.xor(a, b));

const toBool = (x: ArrayLike) => astype(x, "bool");
export const logicalAnd = (x: ArrayLike, y: ArrayLike) => binary("logicalAnd", (a, b) => ew.and(a, b))(toBool(x), toBool(y));
export const logicalOr = (x: ArrayLike, y: ArrayLike) => binary("logicalOr", (a, b) => ew.or(a, b))(toBool(x), toBool(y));
export const logicalNot = (x: ArrayLike) => ew.not(toBool(x));

export const neg = (x: ArrayLike) => ew.neg(asArray(x));
export const exp = floatUnary((a) => ew.exp(a));
export const log = floatUnary((a) => ew.log(a));
export const log1p = floatUnary((a) => ew.log1p(a));
export const expm1 = floatUnary((a) => ew.expm1(a));
export const sqrt = floatUnary((a) => ew.sqrt(a));
export const rsqrt = floatUnary((a) => ew.rsqrt(a));
export const sin = floatUnary((a) => ew.sin(a));
export const cos = floatUnary((a) => ew.cos(a));
export const tan = floatUnary((a) => ew.tan(a));
export const tanh = floatUnary((a) => ew.tanh(a));
export const sigmoid = floatUnary((a) => ew.logistic(a));
export const erf = floatUnary((a) => ew.erf(a));
export const erfInv = floatUnary((a) => ew.erfInv(a));
export const abs = (x: ArrayLike) => ew.abs(asArray(x));
export const sign = (x: ArrayLike) => ew.sign(asArray(x));
export const isFinite = (x: ArrayLike) => {
  const a = asArray(x);
  return isFloat(a.dtype) ? ew.isFinite(a) : broadcastTo(asArray(true), a.shape);
};
const intIdentity = (f: (a: Tracer) => Tracer) => (x: ArrayLike) => {
  const a = asArray(x);
  return isFloat(a.dtype) ? f(a) : a;
};
export const floor = intIdentity((a) => ew.floor(a));
export const ceil = intIdentity((a) => ew.ceil(a));
/** Rounds half to even, as NumPy does. */
export const round = intIdentity((a) => ew.round(a));
export const trunc = intIdentity((a) => ew.select(less(a, 0), ew.ceil(a), ew.floor(a)));
export const square = (x: ArrayLike) => {
  const a = asArray(x);
  return ew.mul(a, a);
};
export const reciprocal = (x: ArrayLike) => div(1, x);

/** Elementwise choice: `cond ? x : y`, broadcasting all three. */
export function where(cond: ArrayLike, x: ArrayLike, y: ArrayLike): Tracer {
  const c = toBool(cond);
  const [a, b] = promoteBroadcast("where", [x, y]);
  const shape = broadcastShapes("where", c.shape, a.shape);
  return ew.select(broadcastTo(c, shape), broadcastTo(a, shape), broadcastTo(b, shape));
}

/** Limits values to [min, max]; either bound may be omitted. */
export function clip(x: ArrayLike, min?: ArrayLike | null, max?: ArrayLike | null): Tracer {
  let out = asArray(x);
  if (min !== undefined && min !== null) out = maximum(out, min);
  if (max !== undefined && max !== null) out = minimum(out, max);
  return out;
}

export function stopGradient(x: ArrayLike): Tracer {
  return ew.stopGradient(asArray(x));
}

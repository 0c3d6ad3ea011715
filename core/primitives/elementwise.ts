/**
 * Elementwise primitives: unary math, binary arithmetic, comparisons, bitwise ops,
 * select and dtype conversion. Operands of one primitive share a shape and dtype;
 * the numpy layer broadcasts and promotes before binding.
 */
import { isFloat, isInt, saturateJs, type DType } from "../dtype.ts";
import { definePrimitive, UndefinedPrimal, type Params, type Primitive } from "../primitive.ts";
import { fmtShape, shapeEq } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { ShapedArray, Tracer } from "../tracer.ts";
import { elementwiseImpl } from "../backends/cpu/loops.ts";
import { bdimToFront } from "./shape.ts";
import * as np from "../np.ts";

type DTypeClass = "float" | "int" | "bool" | "any" | "numeric" | "intOrBool";

function accepts(cls: DTypeClass, dtype: DType): boolean {
  switch (cls) {
    case "float": return isFloat(dtype);
    case "int": return isInt(dtype);
    case "bool": return dtype === "bool";
    case "intOrBool": return dtype === "bool" || isInt(dtype);
    case "numeric": return dtype !== "bool";
    case "any": return true;
  }
}

function checkOperands(name: string, avals: ShapedArray[], cls: DTypeClass): void {
  const [a] = avals;
  for (const b of avals) {
    if (!shapeEq(a.shape, b.shape)) throw new Error(`${name}: operand shapes ${avals.map((v) => fmtShape(v.shape)).join(" and ")} differ`);
    if (a.dtype !== b.dtype) throw new Error(`${name}: operand dtypes ${avals.map((v) => v.dtype).join(" and ")} differ`);
  }
  if (!accepts(cls, a.dtype)) throw new Error(`${name}: dtype ${a.dtype} is not supported (needs ${cls === "float" ? "a floating dtype" : cls === "numeric" ? "a numeric dtype" : cls})`);
}

/** Elementwise batching: operands already sharing a batch axis run as they are; others move it to the front. */
export function elementwiseBatch(prim: () => Primitive) {
  return (vals: Tracer[], dims: (number | null)[], params: Params, size: number): [Tracer[], (number | null)[]] => {
    const d0 = dims[0];
    if (d0 !== null && dims.every((d) => d === d0)) return [[bind1(prim(), vals, params)], [d0]];
    return [[bind1(prim(), vals.map((v, i) => bdimToFront(v, dims[i], size)), params)], [0]];
  };
}

interface ElementwiseSpec {
  name: string;
  arity: number;
  dtypes: DTypeClass;
  expr: (dtype: DType) => string;
  outDtype?: (dtype: DType, params: Params) => DType;
  jvp?: Primitive["jvp"];
  transpose?: Primitive["transpose"];
}

function elementwise(spec: ElementwiseSpec): Primitive {
  const p: Primitive = definePrimitive({
    name: spec.name,
    abstractEval(avals, params) {
      if (avals.length !== spec.arity) throw new Error(`${spec.name}: expected ${spec.arity} operands, got ${avals.length}`);
      checkOperands(spec.name, avals, spec.dtypes);
      return [{ shape: avals[0].shape, dtype: spec.outDtype ? spec.outDtype(avals[0].dtype, params) : avals[0].dtype }];
    },
    impl: { cpu: elementwiseImpl(spec.expr as (d: string) => string) },
    jvp: spec.jvp,
    transpose: spec.transpose,
    batch: elementwiseBatch(() => p),
  });
  return p;
}

const unary = (name: string, expr: string, jvp: (x: Tracer, y: Tracer, t: Tracer) => Tracer, dtypes: DTypeClass = "float") =>
  elementwise({ name, arity: 1, dtypes, expr: () => expr, jvp: ([x], [t]) => { const y = bind1(prims[name], [x]); return [[y], [jvp(x, y, t)]]; } });

const zeroJvpUnary = (name: string, expr: (d: DType) => string, dtypes: DTypeClass) =>
  elementwise({ name, arity: 1, dtypes, expr, jvp: "zero" });

const prims: Record<string, Primitive> = {};
const reg = (p: Primitive) => (prims[p.name] = p);

// ---------------------------------------------------------------- unary
export const negP = reg(elementwise({
  name: "neg", arity: 1, dtypes: "numeric", expr: () => "-a",
  jvp: ([x], [t]) => [[neg(x)], [neg(t)]],
  transpose: ([ct]) => [ct && neg(ct)],
}));
export const expP = reg(unary("exp", "Math.exp(a)", (_x, y, t) => np.mul(t, y)));
export const logP = reg(unary("log", "Math.log(a)", (x, _y, t) => np.div(t, x)));
export const log1pP = reg(unary("log1p", "Math.log1p(a)", (x, _y, t) => np.div(t, np.add(x, 1))));
export const expm1P = reg(unary("expm1", "Math.expm1(a)", (_x, y, t) => np.mul(t, np.add(y, 1))));
export const sqrtP = reg(unary("sqrt", "Math.sqrt(a)", (_x, y, t) => np.div(t, np.mul(y, 2))));
export const rsqrtP = reg(unary("rsqrt", "1 / Math.sqrt(a)", (x, y, t) => np.mul(t, np.mul(np.div(y, x), -0.5))));
export const sinP = reg(unary("sin", "Math.sin(a)", (x, _y, t) => np.mul(t, cos(x))));
export const cosP = reg(unary("cos", "Math.cos(a)", (x, _y, t) => np.mul(t, neg(sin(x)))));
export const tanP = reg(unary("tan", "Math.tan(a)", (_x, y, t) => np.mul(t, np.add(np.mul(y, y), 1))));
export const tanhP = reg(unary("tanh", "Math.tanh(a)", (_x, y, t) => np.mul(t, np.sub(1, np.mul(y, y)))));
export const logisticP = reg(unary("logistic", "1 / (1 + Math.exp(-a))", (_x, y, t) => np.mul(t, np.mul(y, np.sub(1, y)))));
export const erfP = reg(unary("erf", "lib.erf(a)", (x, _y, t) => np.mul(t, np.mul(exp(neg(np.mul(x, x))), 2 / Math.sqrt(Math.PI)))));
// Giles' approximation is float32-accurate; float64 adds one Newton step on erf(y) = a.
const erfInv64 = "((y) => Number.isFinite(y) ? y - (lib.erf(y) - a) * 0.886226925452758 * Math.exp(y * y) : y)(lib.erfInv(a))";
export const erfInvP = reg(elementwise({
  name: "erf_inv", arity: 1, dtypes: "float", expr: (d) => (d === "float64" ? erfInv64 : "lib.erfInv(a)"),
  jvp: ([x], [t]) => {
    const y = bind1(erfInvP, [x]);
    return [[y], [np.mul(t, np.mul(exp(np.mul(y, y)), Math.sqrt(Math.PI) / 2))]];
  },
}));
export const absP = reg(unary("abs", "Math.abs(a)", (x, _y, t) => np.mul(t, sign(x)), "numeric"));
export const signP = reg(zeroJvpUnary("sign", () => "lib.sign(a)", "numeric"));
export const floorP = reg(zeroJvpUnary("floor", () => "Math.floor(a)", "float"));
export const ceilP = reg(zeroJvpUnary("ceil", () => "Math.ceil(a)", "float"));
export const roundP = reg(zeroJvpUnary("round", () => "lib.roundEven(a)", "float"));
export const notP = reg(zeroJvpUnary("not", (d) => (d === "bool" ? "a ? 0 : 1" : "~a"), "intOrBool"));
export const isFiniteP = reg(elementwise({ name: "is_finite", arity: 1, dtypes: "float", expr: () => "Number.isFinite(a) ? 1 : 0", outDtype: () => "bool", jvp: "zero" }));

// ---------------------------------------------------------------- binary arithmetic
const isUndef = (a: unknown): a is UndefinedPrimal => a instanceof UndefinedPrimal;

export const addP = reg(elementwise({
  name: "add", arity: 2, dtypes: "numeric", expr: () => "a + b",
  jvp: ([x, y], [tx, ty]) => [[add(x, y)], [add(tx, ty)]],
  transpose: ([ct], [x, y]) => [isUndef(x) ? ct : null, isUndef(y) ? ct : null],
}));
export const subP = reg(elementwise({
  name: "sub", arity: 2, dtypes: "numeric", expr: () => "a - b",
  jvp: ([x, y], [tx, ty]) => [[sub(x, y)], [sub(tx, ty)]],
  transpose: ([ct], [x, y]) => [isUndef(x) ? ct : null, isUndef(y) && ct ? neg(ct) : null],
}));
export const mulP = reg(elementwise({
  name: "mul", arity: 2, dtypes: "numeric", expr: (d) => (isInt(d) ? "Math.imul(a, b)" : "a * b"),
  jvp: ([x, y], [tx, ty]) => [[mul(x, y)], [add(mul(tx, y), mul(x, ty))]],
  transpose([ct], [x, y]) {
    if (isUndef(x) && isUndef(y)) throw new Error("mul: transpose needs one operand to be a constant (the product of two linear values is not linear)");
    return [isUndef(x) && ct ? mul(ct, y as Tracer) : null, isUndef(y) && ct ? mul(x as Tracer, ct) : null];
  },
}));
export const divP = reg(elementwise({
  name: "div", arity: 2, dtypes: "numeric", expr: (d) => (isInt(d) ? "lib.idiv(a, b)" : "a / b"),
  jvp([x, y], [tx, ty]) {
    const out = div(x, y);
    return [[out], [div(sub(tx, mul(out, ty)), y)]];
  },
  transpose([ct], [, y]) {
    if (isUndef(y)) throw new Error("div: transpose is only linear in the numerator");
    return [ct && div(ct, y as Tracer), null];
  },
}));
export const remP = reg(elementwise({
  name: "rem", arity: 2, dtypes: "numeric", expr: (d) => (isInt(d) ? "lib.irem(a, b)" : "a % b"),
  jvp: ([x, y], [tx, ty]) => [[rem(x, y)], [sub(tx, mul(ty, np.trunc(div(x, y))))]],
}));
export const powP = reg(elementwise({
  name: "pow", arity: 2, dtypes: "numeric", expr: (d) => (isInt(d) ? "lib.ipow(a, b)" : "Math.pow(a, b)"),
  jvp([x, y], [tx, ty]) {
    const out = pow(x, y);
    // d/dx x^y = y x^(y-1); d/dy x^y = log(x) x^y, taken as 0 where x == 0 (as JAX does).
    const dx = np.mul(y, pow(x, np.sub(y, 1)));
    const safeLog = np.where(np.equal(x, 0), 0, log(np.where(np.equal(x, 0), 1, x)));
    return [[out], [add(mul(tx, dx), mul(ty, np.mul(safeLog, out)))]];
  },
}));
export const maxP = reg(elementwise({
  name: "max", arity: 2, dtypes: "numeric", expr: () => "(a > b || a !== a) ? a : b",
  jvp: ([x, y], [tx, ty]) => [[max(x, y)], [minMaxTangent(np.greater(x, y), np.equal(x, y), tx, ty)]],
}));
export const minP = reg(elementwise({
  name: "min", arity: 2, dtypes: "numeric", expr: () => "(a < b || a !== a) ? a : b",
  jvp: ([x, y], [tx, ty]) => [[min(x, y)], [minMaxTangent(np.less(x, y), np.equal(x, y), tx, ty)]],
}));
export const atan2P = reg(elementwise({
  name: "atan2", arity: 2, dtypes: "float", expr: () => "Math.atan2(a, b)",
  jvp([x, y], [tx, ty]) {
    const denom = np.add(np.mul(x, x), np.mul(y, y));
    return [[atan2(x, y)], [np.div(np.sub(np.mul(y, tx), np.mul(x, ty)), denom)]];
  },
}));

/** Ties share the tangent half-and-half, as JAX does for max/min. */
function minMaxTangent(pick: Tracer, tie: Tracer, tx: Tracer, ty: Tracer): Tracer {
  const half = np.mul(np.add(tx, ty), 0.5);
  return np.where(tie, half, np.where(pick, tx, ty));
}

// ---------------------------------------------------------------- comparisons, logic, bits
const compare = (name: string, op: string) =>
  reg(elementwise({ name, arity: 2, dtypes: "any", expr: () => `(a ${op} b) ? 1 : 0`, outDtype: () => "bool", jvp: "zero" }));
export const eqP = compare("eq", "===");
export const neP = compare("ne", "!==");
export const ltP = compare("lt", "<");
export const leP = compare("le", "<=");
export const gtP = compare("gt", ">");
export const geP = compare("ge", ">=");

const bitwise = (name: string, op: string) => reg(elementwise({ name, arity: 2, dtypes: "intOrBool", expr: () => `a ${op} b`, jvp: "zero" }));
export const andP = bitwise("and", "&");
export const orP = bitwise("or", "|");
export const xorP = bitwise("xor", "^");
export const shiftLeftP = reg(elementwise({ name: "shift_left", arity: 2, dtypes: "int", expr: () => "(b >>> 0) >= 32 ? 0 : a << b", jvp: "zero" }));
export const shiftRightLogicalP = reg(elementwise({ name: "shift_right_logical", arity: 2, dtypes: "int", expr: () => "(b >>> 0) >= 32 ? 0 : (a >>> b)", jvp: "zero" }));

// ---------------------------------------------------------------- select, conversions
export const selectP: Primitive = reg(definePrimitive({
  name: "select",
  abstractEval([p, t, f]) {
    if (p.dtype !== "bool") throw new Error(`select: predicate must be bool, got ${p.dtype}`);
    checkOperands("select", [t, f], "any");
    if (!shapeEq(p.shape, t.shape)) throw new Error(`select: predicate shape ${fmtShape(p.shape)} differs from operand shape ${fmtShape(t.shape)}`);
    return [t];
  },
  impl: { cpu: elementwiseImpl(() => "a ? b : c") },
  jvp: ([p, t, f], [, tt, tf]) => [[select(p, t, f)], [select(p, tt, tf)]],
  transpose([ct], [p, t, f]) {
    if (isUndef(p)) throw new Error("select: the predicate cannot be linear");
    if (!ct) return [null, null, null];
    const z = np.zerosLike(ct);
    return [null, isUndef(t) ? select(p as Tracer, ct, z) : null, isUndef(f) ? select(p as Tracer, z, ct) : null];
  },
  batch: elementwiseBatch(() => selectP),
}));

export const convertElementTypeP: Primitive = reg(definePrimitive({
  name: "convert_element_type",
  abstractEval([x], { newDtype }) {
    return [{ shape: x.shape, dtype: newDtype }];
  },
  impl: {
    cpu: (ins, outs, { newDtype }, [xa]) => {
      const expr = newDtype === "bool" ? "a !== 0 ? 1 : 0" : isFloat(xa.dtype) && isInt(newDtype) ? saturateJs("a", newDtype) : "a";
      elementwiseImpl(() => expr)(ins, outs, {}, [xa], []);
    },
  },
  jvp([x], [t], { newDtype }) {
    const out = convertElementType(x, newDtype);
    return [[out], [isFloat(x.dtype) && isFloat(newDtype) ? convertElementType(t, newDtype) : null]];
  },
  transpose: ([ct], [x]) => [ct && convertElementType(ct, (x as UndefinedPrimal).aval.dtype)],
  batch: elementwiseBatch(() => convertElementTypeP),
  printParams: (p) => `new_dtype=${p.newDtype}`,
}));

export const bitcastConvertTypeP: Primitive = reg(definePrimitive({
  name: "bitcast_convert_type",
  abstractEval([x], { newDtype }) {
    const ok = (d: DType) => d === "float32" || d === "int32" || d === "uint32";
    if (!ok(x.dtype) || !ok(newDtype)) throw new Error(`bitcast_convert_type: only between 32-bit dtypes, got ${x.dtype} -> ${newDtype}`);
    return [{ shape: x.shape, dtype: newDtype }];
  },
  impl: {
    cpu: ([x], [out]) => new Uint32Array(out.buffer, out.byteOffset, out.length).set(new Uint32Array(x.buffer, x.byteOffset, x.length)),
  },
  jvp: "zero",
  batch: elementwiseBatch(() => bitcastConvertTypeP),
}));

export const stopGradientP: Primitive = reg(definePrimitive({
  name: "stop_gradient",
  abstractEval: ([x]) => [x],
  impl: { cpu: ([x], [out]) => out.set(x) },
  jvp: ([x]) => [[stopGradient(x)], [null]],
  batch: ([x], [d]) => [[stopGradient(x)], [d]],
}));

// ---------------------------------------------------------------- lax-level wrappers (no broadcasting)
const b1 = (p: Primitive) => (x: Tracer) => bind1(p, [x]);
const b2 = (p: Primitive) => (x: Tracer, y: Tracer) => bind1(p, [x, y]);
export const neg = b1(negP), exp = b1(expP), log = b1(logP), log1p = b1(log1pP), expm1 = b1(expm1P);
export const sqrt = b1(sqrtP), rsqrt = b1(rsqrtP), sin = b1(sinP), cos = b1(cosP), tan = b1(tanP), tanh = b1(tanhP);
export const logistic = b1(logisticP), erf = b1(erfP), erfInv = b1(erfInvP), abs = b1(absP), sign = b1(signP);
export const floor = b1(floorP), ceil = b1(ceilP), round = b1(roundP), not = b1(notP), isFinite = b1(isFiniteP);
export const add = b2(addP), sub = b2(subP), mul = b2(mulP), div = b2(divP), rem = b2(remP), pow = b2(powP);
export const max = b2(maxP), min = b2(minP), atan2 = b2(atan2P);
export const eq = b2(eqP), ne = b2(neP), lt = b2(ltP), le = b2(leP), gt = b2(gtP), ge = b2(geP);
export const and = b2(andP), or = b2(orP), xor = b2(xorP), shiftLeft = b2(shiftLeftP), shiftRightLogical = b2(shiftRightLogicalP);
export const select = (p: Tracer, t: Tracer, f: Tracer) => bind1(selectP, [p, t, f]);
export const convertElementType = (x: Tracer, newDtype: DType) => (x.dtype === newDtype ? x : bind1(convertElementTypeP, [x], { newDtype }));
export const bitcastConvertType = (x: Tracer, newDtype: DType) => (x.dtype === newDtype ? x : bind1(bitcastConvertTypeP, [x], { newDtype }));
export const stopGradient = b1(stopGradientP);

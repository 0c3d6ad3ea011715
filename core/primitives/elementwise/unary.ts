/** Unary elementwise primitives: math functions, rounding, sign and logical not. */
import type { AluDef } from "../../compiler/alu.ts";
import { bind1 } from "../../trace.ts";
import type { Tracer } from "../../tracer.ts";
import { elementwise, fillLike, type DTypeClass } from "./define.ts";
import { add, div, mul, sub } from "./binary.ts";
import { cLiteral, cMath, cMathOf, cOne, cZero, ctype, isFloatType, jsCall, wasmImport, wasmOp, wgslFloatOnly, wgslLiteral, wgslZero, simdOp } from "./spell.ts";
import { exp32, log32, logistic32, tanh32, type ScalarProgram } from "../../backends/cpu/scalar-math.ts";
import { emitScalar, emitScalarLanes } from "../../backends/cpu/wasm/scalar-emit.ts";

/** A float function of one operand with its derivative `jvp(x, y, t)` given y = f(x). */
const unary = (name: string, alu: AluDef, jvp: (x: Tracer, y: Tracer, t: Tracer) => Tracer, dtypes: DTypeClass = "float") => {
  const p = elementwise({
    name,
    arity: 1,
    dtypes,
    alu,
    jvp: ([x], [t]) => {
      const y = bind1(p, [x]);
      return [[y], [jvp(x, y, t)]];
    },
  });
  return p;
};

/** A function with the same name in JavaScript's Math, a wasm import, WGSL (a builtin or a helper `name_`) and CUDA's libm. */
const mathFn = (name: string, wgslHelper = false): AluDef => ({
  js: jsCall(`Math.${name}`),
  wasm: wasmImport(name),
  wgsl: wgslHelper ? wgslFloatOnly(`${name}_`, name) : wgslFloatOnly(name),
  cuda: cMath(name),
});

/**
 * `def` with its float32 CPU spellings replaced by `program` (scalar-math.ts), run as
 * `lib.<name>` in JavaScript and inline in WebAssembly; float64 keeps `def`'s.
 */
const float32Program = (def: AluDef, name: string, program: ScalarProgram): AluDef => ({
  ...def,
  js: (a, t, use) => (t.from === "float32" ? `lib.${name}(${a[0]})` : def.js(a, t, use)),
  wasm: {
    imports: (t) => (t.from === "float32" ? [] : (def.wasm.imports?.(t) ?? [])),
    emit: (w, t) => (t.from === "float32" ? (w.arg(0), emitScalar(w.f, program)) : def.wasm.emit(w, t)),
  },
  f32x4: (w) => (w.arg(0), emitScalarLanes(w.f, program)),
});

export const negP = elementwise({
  name: "neg",
  arity: 1,
  dtypes: "numeric",
  alu: {
    js: ([a]) => `-${a}`,
    wasm: { emit: (w, t) => (isFloatType(t.from) ? (w.args(), w.f.op("f64.neg")) : (w.f.i32(0), w.arg(0), w.f.op("i32.sub"))) },
    wgsl: ([a], t) => (t.from === "uint32" ? `(0u - ${a})` : `(-${a})`),
    cuda: ([a], t) => (isFloatType(t.from) ? `(-${a})` : `(${ctype(t.from)})(0u - (unsigned)${a})`),
    f32x4: simdOp("f32x4.neg"),
  },
  jvp: ([x], [t]) => [[neg(x)], [neg(t)]],
  transpose: ([ct]) => [ct && neg(ct)],
});
export const expP = unary("exp", float32Program(mathFn("exp"), "exp32", exp32), (_x, y, t) => mul(t, y));
export const logP = unary("log", float32Program(mathFn("log"), "log32", log32), (x, _y, t) => div(t, x));
export const log1pP = unary("log1p", mathFn("log1p", true), (x, _y, t) => div(t, add(x, fillLike(x, 1))));
export const expm1P = unary("expm1", mathFn("expm1", true), (_x, y, t) => mul(t, add(y, fillLike(y, 1))));
export const sqrtP = unary("sqrt", { ...mathFn("sqrt"), wasm: wasmOp("f64.sqrt"), f32x4: simdOp("f32x4.sqrt") }, (_x, y, t) => div(t, mul(y, fillLike(y, 2))));
export const rsqrtP = unary(
  "rsqrt",
  {
    js: ([a]) => `1 / Math.sqrt(${a})`,
    wasm: { emit: (w) => (w.f.f64(1), w.arg(0), w.f.op("f64.sqrt").op("f64.div")) },
    wgsl: wgslFloatOnly("inverseSqrt"),
    // The CPU computes 1 / sqrt(x), correctly rounded; rsqrtf is only within 2 ulp.
    cuda: ([a], t) => `(${cOne(t.from)} / ${cMathOf("sqrt", t.from, a)})`,
  },
  (x, y, t) => mul(t, mul(div(y, x), fillLike(y, -0.5))),
);
export const sinP = unary("sin", mathFn("sin"), (x, _y, t) => mul(t, cos(x)));
export const cosP = unary("cos", mathFn("cos"), (x, _y, t) => mul(t, neg(sin(x))));
export const tanP = unary("tan", mathFn("tan"), (_x, y, t) => mul(t, add(mul(y, y), fillLike(y, 1))));
export const tanhP = unary("tanh", float32Program(mathFn("tanh", true), "tanh32", tanh32), (_x, y, t) => mul(t, sub(fillLike(y, 1), mul(y, y))));
export const logisticP = unary(
  "logistic",
  float32Program(
    {
      js: ([a]) => `1 / (1 + Math.exp(-${a}))`,
      wasm: { imports: () => ["exp"], emit: (w) => (w.f.f64(1).f64(1), w.arg(0), w.f.op("f64.neg"), w.call("exp"), w.f.op("f64.add").op("f64.div")) },
      wgsl: wgslFloatOnly("logistic_", "logistic"),
      cuda: ([a], t) => `(${cOne(t.from)} / (${cOne(t.from)} + ${cMathOf("exp", t.from, `-${a}`)}))`,
    },
    "logistic32",
    logistic32,
  ),
  (_x, y, t) => mul(t, mul(y, sub(fillLike(y, 1), y))),
);
export const erfP = unary("erf", { js: jsCall("lib.erf"), wasm: wasmImport("erf"), wgsl: wgslFloatOnly("erf_", "erf"), cuda: cMath("erf") }, (x, _y, t) =>
  mul(t, mul(exp(neg(mul(x, x))), fillLike(x, 2 / Math.sqrt(Math.PI)))),
);
// Giles' approximation is float32-accurate; float64 adds one Newton step on erf(y) = a (lib.erfInv64).
export const erfInvP = unary(
  "erf_inv",
  {
    js: ([a], t) => `lib.${t.from === "float64" ? "erfInv64" : "erfInv"}(${a})`,
    wasm: { imports: (t) => [t.from === "float64" ? "erfInv64" : "erfInv"], emit: (w, t) => (w.args(), w.call(t.from === "float64" ? "erfInv64" : "erfInv")) },
    wgsl: wgslFloatOnly("erf_inv_", "erf_inv"),
    cuda: cMath("erfinv"),
  },
  (_x, y, t) => mul(t, mul(exp(mul(y, y)), fillLike(y, Math.sqrt(Math.PI) / 2))),
);
export const absP = unary(
  "abs",
  {
    js: jsCall("Math.abs"),
    wasm: {
      emit(w, t) {
        if (isFloatType(t.from)) return (w.args(), void w.f.op("f64.abs"));
        if (t.from !== "int32") return w.arg(0);
        // Math.abs(a) | 0: -a when negative (wrapping at -2^31, as |0 does).
        const f = w.f,
          v = f.local("i32");
        w.arg(0);
        f.set(v).i32(0).get(v).op("i32.sub").get(v).get(v).i32(0).op("i32.lt_s").op("select");
      },
    },
    f32x4: simdOp("f32x4.abs"),
    wgsl: ([a], t) => (t.from === "uint32" || t.from === "bool" ? a : `abs(${a})`),
    cuda: ([a], t) => (isFloatType(t.from) ? cMathOf("fabs", t.from, a) : t.from === "int32" ? `(${a} < 0 ? (int)(0u - (unsigned)${a}) : ${a})` : a),
  },
  (x, _y, t) => mul(t, sign(x)),
  "numeric",
);

/** Unary ops whose derivative is zero where defined (sign, rounding, not). */
const flat = (name: string, dtypes: DTypeClass, alu: AluDef) => elementwise({ name, arity: 1, dtypes, alu, jvp: "zero" });

export const signP = flat("sign", "numeric", {
  js: jsCall("lib.sign"),
  wasm: {
    emit(w, t) {
      const f = w.f;
      if (isFloatType(t.from)) {
        // a > 0 ? 1 : a < 0 ? -1 : a
        const v = f.local("f64");
        w.arg(0);
        f.set(v).f64(1).f64(-1).get(v).get(v).f64(0).op("f64.lt").op("select").get(v).f64(0).op("f64.gt").op("select");
      } else if (t.from === "int32") {
        const v = f.local("i32");
        w.arg(0);
        f.set(v).i32(1).i32(-1).i32(0).get(v).i32(0).op("i32.lt_s").op("select").get(v).i32(0).op("i32.gt_s").op("select");
      } else {
        w.arg(0);
        f.i32(0).op("i32.ne");
      }
    },
  },
  wgsl: ([a], { from: d }) => (d === "uint32" ? `select(0u, 1u, ${a} > 0u)` : `select(select(${a}, ${wgslLiteral(-1, d)}, ${a} < ${wgslZero(d)}), ${wgslLiteral(1, d)}, ${a} > ${wgslZero(d)})`),
  cuda: ([a], { from: d }) => (d === "uint32" || d === "bool" ? `(${a} > 0u ? 1u : 0u)` : `(${a} > ${cZero(d)} ? ${cOne(d)} : (${a} < ${cZero(d)} ? ${cLiteral(-1, d)} : ${a}))`),
});

/**
 * A rounding function: `wasm`'s instruction on floats, the identity on integers; its four-lane
 * form rounds float32 lanes exactly as the float64 instruction rounds a float32 value.
 */
const rounding = (name: string, js: string, wasm: "f64.floor" | "f64.ceil" | "f64.nearest", c: string): AluDef => ({
  js: jsCall(js),
  wasm: { emit: (w, t) => (isFloatType(t.from) ? (w.args(), w.f.op(wasm)) : w.arg(0)) },
  f32x4: simdOp(({ "f64.floor": "f32x4.floor", "f64.ceil": "f32x4.ceil", "f64.nearest": "f32x4.nearest" } as const)[wasm]),
  wgsl: ([a], t) => (t.from === "float32" ? `${name}(${a})` : a),
  cuda: ([a], t) => (isFloatType(t.from) ? cMathOf(c, t.from, a) : a),
});
export const floorP = flat("floor", "float", rounding("floor", "Math.floor", "f64.floor", "floor"));
export const ceilP = flat("ceil", "float", rounding("ceil", "Math.ceil", "f64.ceil", "ceil"));
// Half to even, as NumPy rounds: rint in C's default rounding mode, f64.nearest in wasm.
export const roundP = flat("round", "float", rounding("round", "lib.roundEven", "f64.nearest", "rint"));
export const notP = flat("not", "intOrBool", {
  js: ([a], t) => (t.from === "bool" ? `${a} ? 0 : 1` : `~${a}`),
  wasm: { emit: (w, t) => (t.from === "bool" ? (w.args(), w.f.op("i32.eqz")) : (w.arg(0), w.f.i32(-1).op("i32.xor"))) },
  wgsl: ([a], t) => (t.from === "bool" ? `(1u - ${a})` : `(~${a})`),
  cuda: ([a], t) => (t.from === "bool" ? `(unsigned char)(1u - ${a})` : `(${ctype(t.from)})(~${a})`),
});
export const isFiniteP = elementwise({
  name: "is_finite",
  arity: 1,
  dtypes: "float",
  outDtype: () => "bool",
  jvp: "zero",
  alu: {
    js: ([a]) => `Number.isFinite(${a}) ? 1 : 0`,
    // a - a is 0 exactly when a is finite.
    wasm: { emit: (w, t) => (isFloatType(t.from) ? (w.arg(0), w.arg(0), w.f.op("f64.sub").f64(0).op("f64.eq")) : w.f.i32(1)) },
    wgsl: ([a]) => `select(0u, 1u, (bitcast<u32>(${a}) & 0x7f800000u) != 0x7f800000u)`,
    cuda: ([a], { from: d }) =>
      d === "float32" ? `((__float_as_uint(${a}) & 0x7f800000u) != 0x7f800000u)` : d === "float64" ? `((__double_as_longlong(${a}) & 0x7ff0000000000000ll) != 0x7ff0000000000000ll)` : "1",
  },
});

const b1 = (p: ReturnType<typeof elementwise>) => (x: Tracer) => bind1(p, [x]);
export const neg = b1(negP),
  exp = b1(expP),
  log = b1(logP),
  log1p = b1(log1pP),
  expm1 = b1(expm1P);
export const sqrt = b1(sqrtP),
  rsqrt = b1(rsqrtP),
  sin = b1(sinP),
  cos = b1(cosP),
  tan = b1(tanP),
  tanh = b1(tanhP);
export const logistic = b1(logisticP),
  erf = b1(erfP),
  erfInv = b1(erfInvP),
  abs = b1(absP),
  sign = b1(signP);
export const floor = b1(floorP),
  ceil = b1(ceilP),
  round = b1(roundP),
  not = b1(notP),
  isFinite = b1(isFiniteP);

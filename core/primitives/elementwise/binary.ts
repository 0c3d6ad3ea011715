/** Binary arithmetic: add, sub, mul, div, rem, pow, max, min, atan2. */
import { UndefinedPrimal } from "../../primitive.ts";
import type { Primitive } from "../../primitive.ts";
import { bind1 } from "../../trace.ts";
import type { Tracer } from "../../tracer.ts";
import type { AluDef, TextSpelling, WasmSpelling } from "../../compiler/alu.ts";
import { isFloat } from "../../dtype.ts";
import { elementwise, fillLike } from "./define.ts";
import { eq, gt as greater, lt } from "./logic.ts";
import { convertElementType, select } from "./convert.ts";
import { cMath, cWrapped, cZero, ctype, isFloatType, isIntType, jsCall, jsInfix, simdOp, wasmFloatOrInt, wasmImport, wasmOp, wgslFloatOnly, wgslInfix, wgslZero } from "./spell.ts";
import { ceil, floor, log, neg } from "./unary.ts";

const isUndef = (a: unknown): a is UndefinedPrimal => a instanceof UndefinedPrimal;
/** JavaScript spelling by operand kind: integers need helpers where JS numbers would not wrap or would divide by zero. */
const jsIntOr =
  (int: TextSpelling, float: TextSpelling): TextSpelling =>
  (a, t, use) =>
    isIntType(t.from) ? int(a, t, use) : float(a, t, use);

export const addP = elementwise({
  name: "add",
  arity: 2,
  dtypes: "numeric",
  alu: { js: jsInfix("+"), wasm: wasmFloatOrInt("f64.add", "i32.add"), wgsl: wgslInfix("+"), cuda: cWrapped("+"), f32x4: simdOp("f32x4.add") },
  jvp: ([x, y], [tx, ty]) => [[add(x, y)], [add(tx, ty)]],
  transpose: ([ct], [x, y]) => [isUndef(x) ? ct : null, isUndef(y) ? ct : null],
});
export const subP = elementwise({
  name: "sub",
  arity: 2,
  dtypes: "numeric",
  alu: { js: jsInfix("-"), wasm: wasmFloatOrInt("f64.sub", "i32.sub"), wgsl: wgslInfix("-"), cuda: cWrapped("-"), f32x4: simdOp("f32x4.sub") },
  jvp: ([x, y], [tx, ty]) => [[sub(x, y)], [sub(tx, ty)]],
  transpose: ([ct], [x, y]) => [isUndef(x) ? ct : null, isUndef(y) && ct ? neg(ct) : null],
});
export const mulP = elementwise({
  name: "mul",
  arity: 2,
  dtypes: "numeric",
  alu: {
    js: jsIntOr(jsCall("Math.imul"), jsInfix("*")),
    wasm: wasmFloatOrInt("f64.mul", "i32.mul"),
    wgsl: wgslInfix("*"),
    // __fmul_rn is never contracted into a fused multiply-add, so products round as the CPU's do.
    cuda: (a, t, use) => (t.from === "float32" ? `__fmul_rn(${a[0]}, ${a[1]})` : t.from === "float64" ? `__dmul_rn(${a[0]}, ${a[1]})` : cWrapped("*")(a, t, use)),
    f32x4: simdOp("f32x4.mul"),
  },
  jvp: ([x, y], [tx, ty]) => [[mul(x, y)], [add(mul(tx, y), mul(x, ty))]],
  transpose([ct], [x, y]) {
    if (isUndef(x) && isUndef(y)) throw new Error("mul: transpose needs one operand to be a constant (the product of two linear values is not linear)");
    return [isUndef(x) && ct ? mul(ct, y as Tracer) : null, isUndef(y) && ct ? mul(x as Tracer, ct) : null];
  },
});

/** Integer division and remainder give 0 for a zero divisor (lib.idiv / lib.irem on the CPU); `float` is the wasm for floats. */
const quotient = (name: "div" | "rem", c: "/" | "%", signed: "i32.div_s" | "i32.rem_s", unsigned: "i32.div_u" | "i32.rem_u", float: WasmSpelling): AluDef => ({
  js: jsIntOr(jsCall(`lib.i${name}`), jsInfix(c)),
  wasm: {
    imports: (t) => (isFloatType(t.from) ? (float.imports?.(t) ?? []) : []),
    emit: (w, t) => (isFloatType(t.from) ? float.emit(w, t) : (w.args(), w.intDivide(t.from === "uint32" ? unsigned : signed))),
  },
  wgsl: ([a, b], t) => (t.from === "float32" ? `(${a} ${c} ${b})` : `select(${a} ${c} ${b}, ${wgslZero(t.from)}, ${b} == ${wgslZero(t.from)})`),
  cuda: ([a, b], t, use) => {
    if (isFloatType(t.from)) return c === "/" ? `(${a} / ${b})` : cMath("fmod")([a, b], t, use);
    if (t.from === "int32") return (use(`i${name}_i32`), `aug_i${name}_i32(${a}, ${b})`);
    return `(${b} == 0u ? ${cZero(t.from)} : (${ctype(t.from)})(${a} ${c} ${b}))`;
  },
});

export const divP = elementwise({
  name: "div",
  arity: 2,
  dtypes: "numeric",
  alu: { ...quotient("div", "/", "i32.div_s", "i32.div_u", wasmOp("f64.div")), f32x4: simdOp("f32x4.div") },
  jvp([x, y], [tx, ty]) {
    const out = div(x, y);
    return [[out], [div(sub(tx, mul(out, ty)), y)]];
  },
  transpose([ct], [, y]) {
    if (isUndef(y)) throw new Error("div: transpose is only linear in the numerator");
    return [ct && div(ct, y as Tracer), null];
  },
});
export const remP = elementwise({
  name: "rem",
  arity: 2,
  dtypes: "numeric",
  alu: quotient("rem", "%", "i32.rem_s", "i32.rem_u", wasmImport("fmod")),
  jvp: ([x, y], [tx, ty]) => [[rem(x, y)], [sub(tx, mul(ty, trunc(div(x, y))))]],
});
export const powP = elementwise({
  name: "pow",
  arity: 2,
  dtypes: "numeric",
  alu: {
    js: jsIntOr(jsCall("lib.ipow"), jsCall("Math.pow")),
    wasm: {
      imports: (t) => [isFloatType(t.from) ? "pow" : t.from === "uint32" ? "upow" : "ipow"],
      emit: (w, t) => (w.args(), w.call(isFloatType(t.from) ? "pow" : t.from === "uint32" ? "upow" : "ipow")),
    },
    // pow with NumPy's special cases (WGSL's pow is undefined for x < 0); integers by squaring.
    wgsl: (a, t, use) => {
      const h = t.from === "int32" ? "ipow" : t.from === "uint32" ? "upow" : "pow";
      use(h);
      return `${h}_(${a.join(", ")})`;
    },
    cuda: (a, t, use) => {
      const h = t.from === "float32" ? "pow_f32" : t.from === "float64" ? "pow_f64" : t.from === "int32" ? "ipow_i32" : "upow_u32";
      use(h);
      return `aug_${h}(${a.join(", ")})`;
    },
  },
  jvp([x, y], [tx, ty]) {
    const out = pow(x, y);
    // d/dx x^y = y x^(y-1); d/dy x^y = log(x) x^y, taken as 0 where x == 0 (as JAX does).
    const dx = mul(y, pow(x, sub(y, fillLike(y, 1))));
    const zero = eq(x, fillLike(x, 0));
    const safeLog = select(zero, fillLike(x, 0), log(select(zero, fillLike(x, 1), x)));
    return [[out], [add(mul(tx, dx), mul(ty, mul(safeLog, out)))]];
  },
});

/** max and min propagate NaN from either operand; integers compare as their dtype's numbers. */
const extremum = (name: "max" | "min", op: ">" | "<"): Primitive => {
  const gt = op === ">";
  const p: Primitive = elementwise({
    name,
    arity: 2,
    dtypes: "numeric",
    alu: {
      exact: true,
      js: ([a, b]) => `(${a} ${op} ${b} || ${a} !== ${a}) ? ${a} : ${b}`,
      wasm: {
        emit(w, t) {
          const f = w.f,
            fl = isFloatType(t.from);
          const [x, y] = [f.local(fl ? "f64" : "i32"), f.local(fl ? "f64" : "i32")];
          w.arg(0);
          f.set(x);
          w.arg(1);
          f.set(y);
          f.get(x).get(y).get(x).get(y);
          f.op(fl ? (gt ? "f64.gt" : "f64.lt") : t.from === "int32" ? (gt ? "i32.gt_s" : "i32.lt_s") : gt ? "i32.gt_u" : "i32.lt_u");
          if (fl) f.get(x).get(x).op("f64.ne").op("i32.or");
          f.op("select");
        },
      },
      wgsl: ([a, b], t, use) => {
        if (t.from !== "float32") return `${name}(${a}, ${b})`;
        use("isnan");
        return `select(${b}, ${a}, ${a} ${op} ${b} || isnan_(${a}))`;
      },
      cuda: ([a, b], t) => (isFloatType(t.from) ? `((${a} ${op} ${b} || ${a} != ${a}) ? ${a} : ${b})` : `(${a} ${op} ${b} ? ${a} : ${b})`),
      // The scalar rule lane by lane (f32x4.max/min would order -0 below +0, where the rule keeps b).
      f32x4(w) {
        const f = w.f;
        const [x, y] = [f.local("v128"), f.local("v128")];
        w.arg(0);
        f.set(x);
        w.arg(1);
        f.set(y);
        f.get(x)
          .get(y)
          .get(x)
          .get(y)
          .op(gt ? "f32x4.gt" : "f32x4.lt")
          .get(x)
          .get(x)
          .op("f32x4.ne")
          .op("v128.or")
          .op("v128.bitselect");
      },
    },
    jvp: ([x, y], [tx, ty]) => [[bind1(p, [x, y])], [minMaxTangent(gt ? greater(x, y) : lt(x, y), eq(x, y), tx, ty)]],
  });
  return p;
};
export const maxP = extremum("max", ">");
export const minP = extremum("min", "<");

/** Ties share the tangent half-and-half, as JAX does for max/min. */
function minMaxTangent(pick: Tracer, tie: Tracer, tx: Tracer, ty: Tracer): Tracer {
  // Half of an integer sum is float32, and the picked tangent is promoted with it (NumPy's rule).
  const f = isFloat(tx.dtype) ? tx.dtype : "float32";
  const sum = convertElementType(add(tx, ty), f);
  return select(tie, mul(sum, fillLike(sum, 0.5)), convertElementType(select(pick, tx, ty), f));
}

/** Rounds toward zero (integers are already whole). */
const trunc = (q: Tracer) => (isFloat(q.dtype) ? select(lt(q, fillLike(q, 0)), ceil(q), floor(q)) : q);

export const atan2P = elementwise({
  name: "atan2",
  arity: 2,
  dtypes: "float",
  alu: { js: jsCall("Math.atan2"), wasm: wasmImport("atan2"), wgsl: wgslFloatOnly("atan2"), cuda: cMath("atan2") },
  jvp([x, y], [tx, ty]) {
    const denom = add(mul(x, x), mul(y, y));
    return [[atan2(x, y)], [div(sub(mul(y, tx), mul(x, ty)), denom)]];
  },
});

const b2 = (p: Primitive) => (x: Tracer, y: Tracer) => bind1(p, [x, y]);
export const add = b2(addP),
  sub = b2(subP),
  mul = b2(mulP),
  div = b2(divP),
  rem = b2(remP),
  pow = b2(powP);
export const max = b2(maxP),
  min = b2(minP),
  atan2 = b2(atan2P);

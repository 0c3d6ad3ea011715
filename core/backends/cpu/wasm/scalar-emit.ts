/**
 * Emits the float32 programs of ../scalar-math.ts inline as WebAssembly: each operation
 * writes its result to a fresh local, so the instructions are the programs' operations one
 * for one, in their order (what keeps them bit-identical to the JavaScript run). The scalar
 * form runs them as f32 instructions; the four-lane form as f32x4 lanes (each lane IEEE, as
 * the scalar instruction), for the four-lane float32 loops (simd-plan.ts).
 */
import type { ScalarOps, ScalarProgram } from "../scalar-math.ts";
import type { FunctionBuilder, PlainOp, ValType } from "./emit.ts";

/** The instructions of one form: one f32 per local, or four f32 lanes per v128 local. */
interface Form {
  local: ValType;
  /** Pushes the constant x (already a float32 value). */
  num: (f: FunctionBuilder, x: number) => void;
  ops: Record<"add" | "sub" | "mul" | "div" | "floor" | "abs" | "neg" | "lt" | "select", PlainOp>;
  /** b < a ? b : a and a < b ? b : a of a and b on the stack. */
  min: (f: FunctionBuilder, a: number, b: number) => void;
  max: (f: FunctionBuilder, a: number, b: number) => void;
  /** Shifts the float32 bits on the stack left by 23 (see pow2 below). */
  shiftExponent: (f: FunctionBuilder) => void;
  /** ScalarOps.exponentField and significand of the value on the stack. */
  exponentField: (f: FunctionBuilder) => void;
  significand: (f: FunctionBuilder) => void;
}

/**
 * 2^n for an integer-valued float32 n in [-126, 127]: n + (2^23 + 127) is exact, and its
 * bits are 0x4B000000 + n + 127; shifted left by 23 the 0x4B000000 leaves, and n + 127 lands
 * in the exponent field. (A NaN n gives +0, times the program's NaN.) Two instructions
 * where a float-to-int conversion takes eight.
 */
const POW2_BIAS = 2 ** 23 + 127;

const SCALAR: Form = {
  local: "f32",
  num: (f, x) => void f.f32(x),
  ops: { add: "f32.add", sub: "f32.sub", mul: "f32.mul", div: "f32.div", floor: "f32.floor", abs: "f32.abs", neg: "f32.neg", lt: "f32.lt", select: "select" },
  // f32.min / f32.max differ from pmin / pmax on NaN `b` and signed zeros: a select instead.
  min: (f, a, b) => void f.get(b).get(a).get(b).get(a).op("f32.lt").op("select"),
  max: (f, a, b) => void f.get(b).get(a).get(a).get(b).op("f32.lt").op("select"),
  shiftExponent: (f) => f.op("i32.reinterpret_f32").i32(23).op("i32.shl").op("f32.reinterpret_i32"),
  exponentField: (f) => f.op("i32.reinterpret_f32").i32(23).op("i32.shr_u").i32(0xff).op("i32.and").i32(127).op("i32.sub").op("f32.convert_i32_s"),
  significand: (f) => f.op("i32.reinterpret_f32").i32(0x7fffff).op("i32.and").i32(0x3f800000).op("i32.or").op("f32.reinterpret_i32"),
};

// Lane by lane what SCALAR computes.
const LANES: Form = {
  local: "v128",
  num: (f, x) => void f.f32x4(x),
  ops: {
    add: "f32x4.add",
    sub: "f32x4.sub",
    mul: "f32x4.mul",
    div: "f32x4.div",
    floor: "f32x4.floor",
    abs: "f32x4.abs",
    neg: "f32x4.neg",
    lt: "f32x4.lt",
    select: "v128.bitselect",
  },
  min: (f, a, b) => void f.get(a).get(b).op("f32x4.pmin"),
  max: (f, a, b) => void f.get(a).get(b).op("f32x4.pmax"),
  shiftExponent: (f) => f.i32(23).op("i32x4.shl"),
  exponentField: (f) => f.i32(23).op("i32x4.shr_u").i32(0xff).op("i32x4.splat").op("v128.and").i32(127).op("i32x4.splat").op("i32x4.sub").op("f32x4.convert_i32x4_s"),
  significand: (f) => f.i32(0x7fffff).op("i32x4.splat").op("v128.and").i32(0x3f800000).op("i32x4.splat").op("v128.or"),
};

function wasmOps(f: FunctionBuilder, form: Form): ScalarOps<number> {
  const op = (emit: () => void, ...args: number[]) => {
    for (const a of args) f.get(a);
    emit();
    const out = f.local(form.local);
    f.set(out);
    return out;
  };
  const plain = (name: keyof Form["ops"]) => () => void f.op(form.ops[name]);
  const binary = (name: keyof Form["ops"]) => (a: number, b: number) => op(plain(name), a, b);
  const unary = (name: keyof Form["ops"]) => (a: number) => op(plain(name), a);
  return {
    num: (x) => op(() => form.num(f, x)),
    add: binary("add"),
    sub: binary("sub"),
    mul: binary("mul"),
    div: binary("div"),
    min: (a, b) => op(() => form.min(f, a, b)),
    max: (a, b) => op(() => form.max(f, a, b)),
    floor: unary("floor"),
    abs: unary("abs"),
    neg: unary("neg"),
    pow2: (n) => op(() => (form.num(f, POW2_BIAS), f.op(form.ops.add), form.shiftExponent(f)), n),
    // select and bitselect both take (if true, if false, condition).
    ifLess: (a, b, x, y) => op(() => f.get(x).get(y).get(a).get(b).op(form.ops.lt).op(form.ops.select)),
    exponentField: (a) => op(() => form.exponentField(f), a),
    significand: (a) => op(() => form.significand(f), a),
  };
}

/** Emits `program` on the float32 value held as the f64 on top of the stack, leaving its result there as an f64. */
export function emitScalar(f: FunctionBuilder, program: ScalarProgram): void {
  const x = f.local("f32");
  // Exact: the value is a float32 one.
  f.op("f32.demote_f64").set(x);
  f.get(program(wasmOps(f, SCALAR), x)).op("f64.promote_f32");
}

/** Emits `program` on the four float32 lanes of the v128 on top of the stack, leaving the four results. */
export function emitScalarLanes(f: FunctionBuilder, program: ScalarProgram): void {
  const x = f.local("v128");
  f.set(x);
  f.get(program(wasmOps(f, LANES), x));
}

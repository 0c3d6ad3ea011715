/**
 * Emits the float64 programs of ../scalar-math.ts inline as WebAssembly: each operation
 * writes its result to a fresh f64 local, so the instructions are the programs' operations
 * one for one, in their order (what keeps them bit-identical to the JavaScript run). The
 * two-lane form runs the same operations on f64x2 lanes (each lane IEEE, as the scalar
 * instruction), for the four-lane float32 loops (simd-plan.ts).
 */
import type { ScalarOps, ScalarProgram } from "../scalar-math.ts";
import type { FunctionBuilder, PlainOp, ValType } from "./emit.ts";

/** The instructions of one form: one f64 per local, or two f64x2 lanes per v128 local. */
interface Form {
  local: ValType;
  /** The number on the stack's f64 as a value of this form. */
  splat?: PlainOp;
  ops: Record<"add" | "sub" | "mul" | "div" | "min" | "max" | "floor" | "abs" | "neg" | "lt" | "select", PlainOp>;
  /** The exponent field of 2^n from n on the stack. */
  pow2: (f: FunctionBuilder) => void;
}

const SCALAR: Form = {
  local: "f64",
  ops: { add: "f64.add", sub: "f64.sub", mul: "f64.mul", div: "f64.div", min: "f64.min", max: "f64.max", floor: "f64.floor", abs: "f64.abs", neg: "f64.neg", lt: "f64.lt", select: "select" },
  // trunc_sat reads NaN as 0 (the program's other factor is NaN then).
  pow2: (f) => f.op("i32.trunc_sat_f64_s").i32(1023).op("i32.add").op("i64.extend_i32_s").i64(52).op("i64.shl").op("f64.reinterpret_i64"),
};

// Lane by lane what SCALAR computes (each f64x2 lane is IEEE, as the scalar instruction).
const LANES: Form = {
  local: "v128",
  splat: "f64x2.splat",
  ops: {
    add: "f64x2.add",
    sub: "f64x2.sub",
    mul: "f64x2.mul",
    div: "f64x2.div",
    min: "f64x2.min",
    max: "f64x2.max",
    floor: "f64x2.floor",
    abs: "f64x2.abs",
    neg: "f64x2.neg",
    lt: "f64x2.lt",
    select: "v128.bitselect",
  },
  pow2: (f) => f.op("i32x4.trunc_sat_f64x2_s_zero").i32(1023).op("i32x4.splat").op("i32x4.add").op("i64x2.extend_low_i32x4_s").i32(52).op("i64x2.shl"),
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
    num: (x) => op(() => (f.f64(x), form.splat && f.op(form.splat))),
    add: binary("add"),
    sub: binary("sub"),
    mul: binary("mul"),
    div: binary("div"),
    min: binary("min"),
    max: binary("max"),
    floor: unary("floor"),
    abs: unary("abs"),
    neg: unary("neg"),
    pow2: (n) => op(() => form.pow2(f), n),
    // select and bitselect both take (if true, if false, condition).
    ifLess: (a, b, x, y) => op(() => f.get(x).get(y).get(a).get(b).op(form.ops.lt).op(form.ops.select)),
  };
}

/** Emits `program` on the f64 on top of the stack, leaving its result there. */
export function emitScalar(f: FunctionBuilder, program: ScalarProgram): void {
  const x = f.local("f64");
  f.set(x);
  f.get(program(wasmOps(f, SCALAR), x));
}

/**
 * Emits `program` on the four float32 lanes of the v128 on top of the stack, leaving the
 * four float32 results: each pair of lanes widened to float64, run, and rounded back, as
 * the scalar loop rounds each element's result.
 */
export function emitScalarLanes(f: FunctionBuilder, program: ScalarProgram): void {
  const x = f.local("v128");
  f.set(x);
  const half = () => {
    const v = f.local("v128");
    f.op("f64x2.promote_low_f32x4").set(v);
    f.get(program(wasmOps(f, LANES), v)).op("f32x4.demote_f64x2_zero");
  };
  f.get(x);
  half();
  f.get(x).get(x).shuffleF32([2, 3, 0, 1]);
  half();
  f.shuffleF32([0, 1, 4, 5]);
}

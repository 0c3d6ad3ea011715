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
  ops: Record<"add" | "sub" | "mul" | "div" | "min" | "max" | "floor" | "abs" | "neg" | "lt" | "select", PlainOp>;
  /** 2^n from n on the stack, by writing n + 127 into the exponent field. */
  pow2: (f: FunctionBuilder) => void;
}

const SCALAR: Form = {
  local: "f32",
  num: (f, x) => void f.f32(x),
  ops: { add: "f32.add", sub: "f32.sub", mul: "f32.mul", div: "f32.div", min: "f32.min", max: "f32.max", floor: "f32.floor", abs: "f32.abs", neg: "f32.neg", lt: "f32.lt", select: "select" },
  // trunc_sat reads NaN as 0 (the program's other factor is NaN then).
  pow2: (f) => f.op("i32.trunc_sat_f32_s").i32(127).op("i32.add").i32(23).op("i32.shl").op("f32.reinterpret_i32"),
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
    min: "f32x4.min",
    max: "f32x4.max",
    floor: "f32x4.floor",
    abs: "f32x4.abs",
    neg: "f32x4.neg",
    lt: "f32x4.lt",
    select: "v128.bitselect",
  },
  pow2: (f) => f.op("i32x4.trunc_sat_f32x4_s").i32(127).op("i32x4.splat").op("i32x4.add").i32(23).op("i32x4.shl"),
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

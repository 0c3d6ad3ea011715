/**
 * Emits the float64 programs of ../scalar-math.ts inline as WebAssembly: each operation
 * writes its result to a fresh f64 local, so the instructions are the programs' operations
 * one for one, in their order (what keeps them bit-identical to the JavaScript run). The
 * two-lane form runs the same operations on f64x2 lanes (each lane IEEE, as the scalar
 * instruction), for the four-lane float32 loops (simd-plan.ts).
 */
import type { ScalarOps, ScalarProgram } from "../scalar-math.ts";
import type { FunctionBuilder, PlainOp } from "./emit.ts";

function wasmScalarOps(f: FunctionBuilder): ScalarOps<number> {
  const fresh = () => f.local("f64");
  const op = (name: PlainOp, ...args: number[]) => {
    for (const a of args) f.get(a);
    const out = fresh();
    f.op(name).set(out);
    return out;
  };
  return {
    num: (x) => {
      const out = fresh();
      f.f64(x).set(out);
      return out;
    },
    add: (a, b) => op("f64.add", a, b),
    sub: (a, b) => op("f64.sub", a, b),
    mul: (a, b) => op("f64.mul", a, b),
    div: (a, b) => op("f64.div", a, b),
    min: (a, b) => op("f64.min", a, b),
    max: (a, b) => op("f64.max", a, b),
    floor: (a) => op("f64.floor", a),
    abs: (a) => op("f64.abs", a),
    neg: (a) => op("f64.neg", a),
    // The exponent field of 2^n; trunc_sat reads NaN as 0 (the program's other factor is NaN then).
    pow2: (n) => {
      const out = fresh();
      f.get(n).op("i32.trunc_sat_f64_s").i32(1023).op("i32.add").op("i64.extend_i32_s").i64(52).op("i64.shl").op("f64.reinterpret_i64").set(out);
      return out;
    },
    ifLess: (a, b, x, y) => {
      const out = fresh();
      f.get(x).get(y).get(a).get(b).op("f64.lt").op("select").set(out);
      return out;
    },
  };
}

/** Emits `program` on the f64 on top of the stack, leaving its result there. */
export function emitScalar(f: FunctionBuilder, program: ScalarProgram): void {
  const x = f.local("f64");
  f.set(x);
  f.get(program(wasmScalarOps(f), x));
}

/** The same operations on two float64 lanes: v128 locals, f64x2 instructions, lane by lane what wasmScalarOps computes. */
function wasmLaneOps(f: FunctionBuilder): ScalarOps<number> {
  const fresh = () => f.local("v128");
  const op = (name: PlainOp, ...args: number[]) => {
    for (const a of args) f.get(a);
    const out = fresh();
    f.op(name).set(out);
    return out;
  };
  return {
    num: (x) => {
      const out = fresh();
      f.f64(x).op("f64x2.splat").set(out);
      return out;
    },
    add: (a, b) => op("f64x2.add", a, b),
    sub: (a, b) => op("f64x2.sub", a, b),
    mul: (a, b) => op("f64x2.mul", a, b),
    div: (a, b) => op("f64x2.div", a, b),
    min: (a, b) => op("f64x2.min", a, b),
    max: (a, b) => op("f64x2.max", a, b),
    floor: (a) => op("f64x2.floor", a),
    abs: (a) => op("f64x2.abs", a),
    neg: (a) => op("f64x2.neg", a),
    pow2: (n) => {
      const out = fresh();
      f.get(n).op("i32x4.trunc_sat_f64x2_s_zero").i32(1023).op("i32x4.splat").op("i32x4.add").op("i64x2.extend_low_i32x4_s").i32(52).op("i64x2.shl").set(out);
      return out;
    },
    ifLess: (a, b, x, y) => {
      const out = fresh();
      f.get(x).get(y).get(a).get(b).op("f64x2.lt").op("v128.bitselect").set(out);
      return out;
    },
  };
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
    f.get(program(wasmLaneOps(f), v)).op("f32x4.demote_f64x2_zero");
  };
  f.get(x);
  half();
  f.get(x).get(x).shuffleF32([2, 3, 0, 1]);
  half();
  f.shuffleF32([0, 1, 4, 5]);
}

/**
 * Emits the float64 programs of ../scalar-math.ts inline as WebAssembly: each operation
 * writes its result to a fresh f64 local, so the instructions are the programs' operations
 * one for one, in their order (what keeps them bit-identical to the JavaScript run).
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

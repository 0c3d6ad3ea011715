/**
 * The CPU's routines (core/routines.ts): one table, written once from the family files
 * beside this one, each exporting its routines; they write into preallocated outputs. The
 * table's type names every routine, so a routine without a CPU version does not compile.
 */
import type { TypedArray } from "../../../dtype.ts";
import type { RoutineCall, RoutineName, RoutineParams } from "../../../routines.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { argRoutines } from "./argmax.ts";
import { bitcastRoutines } from "./bitcast.ts";
import { convRoutines } from "./conv.ts";
import { dotRoutines } from "./dot.ts";
import { linalgRoutines } from "./linalg.ts";
import { randomRoutines } from "./random.ts";
import { scatterRoutines } from "./scatter.ts";
import { sortRoutines } from "./sort.ts";
import { windowRoutines } from "./window.ts";

export type CpuRoutine<R extends RoutineName> = (ins: TypedArray[], outs: TypedArray[], params: RoutineParams[R], inAvals: readonly ShapedArray[], outAvals: readonly ShapedArray[]) => void;

/** The routines named by K, each typed by its own params. */
export type CpuRoutines<K extends RoutineName> = { readonly [R in K]: CpuRoutine<R> };

const table: CpuRoutines<RoutineName> = {
  ...argRoutines,
  ...bitcastRoutines,
  ...convRoutines,
  ...dotRoutines,
  ...linalgRoutines,
  ...randomRoutines,
  ...scatterRoutines,
  ...sortRoutines,
  ...windowRoutines,
};

/** Runs `call` on the CPU into `outs`; generic in the routine, so its params meet their routine's type. */
export function runCpuRoutine<R extends RoutineName>(call: RoutineCall<R>, ins: TypedArray[], outs: TypedArray[]): void {
  const fn: CpuRoutine<R> = table[call.routine];
  fn(ins, outs, call.params, call.inAvals, call.outAvals);
}

/**
 * The CPU's routines (core/routines.ts), one per routine, registered by the family files
 * beside this one; they write into preallocated outputs.
 */
import type { TypedArray } from "../../../dtype.ts";
import type { RoutineCall, RoutineName, RoutineParams } from "../../../routines.ts";
import type { ShapedArray } from "../../../tracer.ts";

export type CpuRoutine<R extends RoutineName> = (ins: TypedArray[], outs: TypedArray[], params: RoutineParams[R], inAvals: readonly ShapedArray[], outAvals: readonly ShapedArray[]) => void;

const table = new Map<RoutineName, CpuRoutine<RoutineName>>();

export function defineCpu<R extends RoutineName>(name: R, fn: CpuRoutine<R>): void {
  if (table.has(name)) throw new Error(`cpu routine ${name} is defined twice`);
  table.set(name, fn as unknown as CpuRoutine<RoutineName>);
}

function cpuRoutine<R extends RoutineName>(name: R): CpuRoutine<R> {
  const fn = table.get(name);
  if (!fn) throw new Error(`${name}: no CPU routine`);
  return fn as unknown as CpuRoutine<R>;
}

/** Runs `call` on the CPU into `outs`; generic in the routine, so its params meet their routine's type. */
export function runCpuRoutine<R extends RoutineName>(call: RoutineCall<R>, ins: TypedArray[], outs: TypedArray[]): void {
  cpuRoutine(call.routine)(ins, outs, call.params, call.inAvals, call.outAvals);
}

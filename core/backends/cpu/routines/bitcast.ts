/**
 * bitcast_convert_type on the CPU: the same 32-bit words viewed as another dtype.
 */
import type { CpuRoutine, CpuRoutines } from "./registry.ts";

const bitcast_convert_type: CpuRoutine<"bitcast_convert_type"> = ([x], [out]) => new Uint32Array(out.buffer, out.byteOffset, out.length).set(new Uint32Array(x.buffer, x.byteOffset, x.length));

export const bitcastRoutines: CpuRoutines<"bitcast_convert_type"> = { bitcast_convert_type };

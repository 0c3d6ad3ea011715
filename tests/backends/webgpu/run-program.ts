/** Runs a kernel rule's program directly, so tests can force a kernel the adapter would not pick. */
import type { NDArray } from "../../../core/array.ts";
import { getBackend } from "../../../core/backend.ts";
import type { TypedArray } from "../../../core/dtype.ts";
import type { ShapedArray } from "../../../core/tracer.ts";
import type { GpuBuffer, WebGpuBackend } from "../../../core/backends/webgpu/index.ts";
import type { GpuProgram } from "../../../core/backends/webgpu/program.ts";
import { onGpu } from "./gpu.ts";

/** Runs `program` on GPU copies of `args` and reads its one output. */
export async function runOnGpu(program: GpuProgram, args: NDArray[], out: ShapedArray): Promise<TypedArray> {
  const be = getBackend("webgpu") as unknown as WebGpuBackend;
  const gargs = args.map(onGpu);
  const [h] = be.runProgram(
    program,
    gargs.map((a) => a.handle as GpuBuffer),
    [out],
  );
  const data = await be.read(h, out);
  be.free(h);
  return data;
}

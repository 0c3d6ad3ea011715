/**
 * WebGPU ordering kernels = the CPU: sort and argsort (stable, NaNs last, -0 equal to +0)
 * for line lengths around the workgroup block (one pass, local stages only, global
 * stages), many short lines, any axis; and argmax / argmin (first NaN, else first
 * extreme) on both their per-output and their cooperative path. argsort and argmax
 * return positions, so ties broken differently from the CPU fail exactly.
 */
import { describe, it } from "vitest";
import { fromTyped, NDArray } from "../../../core/array.ts";
import type { DType } from "../../../core/dtype.ts";
import { sizeOf } from "../../../core/shape.ts";
import { Rng } from "../../cases/types.ts";
import { expectSameAsCpu, gpuSkipReason } from "./gpu.ts";

/** float32 values with many ties, both zeros, infinities and NaNs. */
function awkwardFloats(rng: Rng, shape: number[]): NDArray {
  const pool = [NaN, -0, 0, Infinity, -Infinity, 1.5, -1.5, 2];
  const v = new Float32Array(sizeOf(shape)).map(() => (rng.next() < 0.5 ? rng.pick(pool) : rng.int(-4, 4)));
  return fromTyped(v, shape, "float32");
}

const input = (rng: Rng, shape: number[], dtype: DType) => (dtype === "float32" ? awkwardFloats(rng, shape) : rng.array(shape, dtype, -6, 6));

describe.skipIf(gpuSkipReason !== null)("webgpu sort kernels", () => {
  it("sort and argsort match for line lengths around the block size, every dtype and axis", async () => {
    const rng = new Rng(4);
    const lines: [number, DType][] = [
      [1, "float32"],
      [2, "int32"],
      [17, "float32"],
      [512, "int32"],
      [513, "float32"],
      [3000, "float32"],
      [3000, "int32"],
      [6, "uint32"],
      [600, "bool"],
    ];
    for (const [n, dtype] of lines) {
      const x = input(rng, [2, n], dtype);
      for (const prim of ["sort", "argsort"]) await expectSameAsCpu(prim, [x], { axis: 1 });
    }
    const x = input(rng, [5, 600, 3], "float32");
    for (const axis of [0, 1, 2]) for (const prim of ["sort", "argsort"]) await expectSameAsCpu(prim, [x], { axis });
  });

  it("a long line (several global stages) and many short lines", async () => {
    const rng = new Rng(5);
    const long = input(rng, [70001], "float32");
    await expectSameAsCpu("argsort", [long], { axis: 0 });
    await expectSameAsCpu("sort", [long], { axis: 0 });
    await expectSameAsCpu("argsort", [input(rng, [20000, 3], "int32")], { axis: 1 });
  });

  it("grids over 65535 workgroups, and empty arrays", async () => {
    const rng = new Rng(6);
    // The first and last passes run one invocation per element: 4.2M elements need a 2-D grid.
    // (The global compare passes would need 8.4M elements in lines over 512: too slow on lavapipe.)
    const pairs = rng.array([2100000, 2], "int32", 0, 3);
    await expectSameAsCpu("argsort", [pairs], { axis: 1 });
    await expectSameAsCpu("sort", [pairs], { axis: 1 });
    await expectSameAsCpu("sort", [rng.array([0, 4], "float32")], { axis: 1 });
    await expectSameAsCpu("argsort", [rng.array([3, 0], "float32")], { axis: 1 });
  });
});

describe.skipIf(gpuSkipReason !== null)("webgpu argmax / argmin", () => {
  it("first NaN, else first extreme, on short and long axes", async () => {
    const rng = new Rng(7);
    const cases: [number[], DType][] = [
      [[6, 5], "float32"],
      [[6, 5], "int32"],
      [[2, 2000, 2], "float32"],
      [[3, 5000], "uint32"],
    ];
    for (const [shape, dtype] of cases) {
      const x = input(rng, shape, dtype);
      for (let axis = 0; axis < shape.length; axis++) {
        await expectSameAsCpu("argmax", [x], { axis });
        await expectSameAsCpu("argmin", [x], { axis });
      }
    }
    // Without NaNs the extreme decides; the long axis has its maximum tied at many places.
    for (const x of [rng.array([2, 4096], "int32", 0, 3), rng.array([3, 5000], "float32")]) {
      await expectSameAsCpu("argmax", [x], { axis: 1 });
      await expectSameAsCpu("argmin", [x], { axis: 1 });
    }
  });

  it("cover more than 65535 workgroups", async () => {
    const x = new Rng(8).array([65536 * 64 + 9, 2], "float32");
    await expectSameAsCpu("argmax", [x], { axis: 1 });
  });
});

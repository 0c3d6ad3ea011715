/**
 * WebGPU take and scatter_add = the CPU beyond the property suite's small shapes: indices
 * out of range (clamped), uint32 indices, many colliding updates (the sort inside
 * scatter_add then needs its multi-pass stages), no indices at all, grids over 65535
 * workgroups, every update landing on one element.
 */
import { describe, it } from "vitest";
import { NDArray } from "../../../core/array.ts";
import type { DType } from "../../../core/dtype.ts";
import { Rng } from "../../cases/types.ts";
import { expectSameAsCpu, gpuSkipReason } from "./gpu.ts";

// scatter_add adds colliding float updates in no fixed order, so float sums may differ in the
// last bits: k float32 additions in any order are within about k * 2^-24 * sum |terms|, and with
// ~40 updates of magnitude up to 1 meeting in one element whose sum partly cancels, that is up to
// ~1e-4 of the result (a run on a loaded machine gave 1.06e-5 of a sum of 2.57).
const SUM_TOL = 1e-4;

/** Random operands of scatter_add along `axis`: operand `shape`, indices `iShape` in [lo, hi). */
function scatterArgs(rng: Rng, shape: number[], axis: number, iShape: number[], dtype: DType, idxType: DType, lo: number, hi: number): NDArray[] {
  const upd = [...shape.slice(0, axis), ...iShape, ...shape.slice(axis + 1)];
  return [rng.array(shape, dtype, -50, 50), rng.array(iShape, idxType, lo, hi), rng.array(upd, dtype, -50, 50)];
}

describe.skipIf(gpuSkipReason !== null)("webgpu gather kernels", () => {
  it("take clamps int32 and uint32 indices along any axis", async () => {
    const rng = new Rng(5);
    const x = rng.array([4, 5, 3], "float32");
    for (const axis of [0, 1, 2]) {
      const n = x.shape[axis];
      await expectSameAsCpu("take", [x, rng.array([2, 7], "int32", -3, n + 3)], { axis });
      await expectSameAsCpu("take", [x, rng.array([6], "uint32", 0, n + 3)], { axis });
    }
  });

  it("take covers more than 65535 workgroups, and empty indices", async () => {
    const rng = new Rng(6);
    const x = rng.array([1000, 3], "int32", -1000, 1000);
    await expectSameAsCpu("take", [x, rng.array([1400000], "int32", -5, 1005)], { axis: 0 });
    await expectSameAsCpu("take", [x, rng.array([0], "int32")], { axis: 0 });
  });

  it("scatter_add sums colliding updates: floats within rounding, integers exactly", async () => {
    const rng = new Rng(8);
    for (const [shape, axis, iShape] of [
      [[7, 3], 0, [5000]],
      [[2, 9, 4], 1, [30, 40]],
      [[3, 1], 1, [3]],
      [[6], 0, [1]],
    ] as [number[], number, number[]][]) {
      const n = shape[axis];
      await expectSameAsCpu("scatter_add", scatterArgs(rng, shape, axis, iShape, "float32", "int32", -2, n + 2), { axis }, SUM_TOL);
      await expectSameAsCpu("scatter_add", scatterArgs(rng, shape, axis, iShape, "int32", "uint32", 0, n + 2), { axis });
    }
  });

  it("scatter_add with no indices returns the operand; large operands cover the 2-D grid", async () => {
    const rng = new Rng(9);
    await expectSameAsCpu("scatter_add", scatterArgs(rng, [4, 3], 0, [0], "float32", "int32", 0, 4), { axis: 0 });
    await expectSameAsCpu("scatter_add", scatterArgs(rng, [65536 * 64 + 3], 0, [2000], "float32", "int32", -10, 65536 * 64 + 10), { axis: 0 }, SUM_TOL);
  });

  it("scatter_add with every update on one row (the gradient of a broadcast row)", async () => {
    const rng = new Rng(10);
    await expectSameAsCpu("scatter_add", scatterArgs(rng, [3, 5], 0, [200000], "int32", "int32", 1, 2), { axis: 0 });
    // 200000 float32 additions in two orders drift apart by ~1e-5 relative: both are that far from the exact sum.
    await expectSameAsCpu("scatter_add", scatterArgs(rng, [3, 5], 0, [200000], "float32", "int32", -3, 0), { axis: 0 }, 1e-3);
  });
});

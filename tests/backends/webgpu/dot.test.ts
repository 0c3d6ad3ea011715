/**
 * WebGPU dot_general = the CPU beyond the property suite's small shapes, for every product
 * kernel this adapter can run (register blocks, shared-memory tiles, and subgroup sharing
 * where the device has 8-wide subgroups): ragged M, N, K around the tile sizes, batches with
 * axes in any order, int32 products that overflow (they wrap), K = 0, grids over 65535
 * workgroups, and a 256-cube product.
 */
import { describe, expect, it } from "vitest";
import type { NDArray } from "../../../core/array.ts";
import { isFloat, type DType } from "../../../core/dtype.ts";
import type { RoutineParams } from "../../../core/routines.ts";
import { dotProgram, productStrategies, type DotStrategy } from "../../../core/backends/webgpu/kernels/dot.ts";
import { Rng } from "../../cases/types.ts";
import { applyPrim } from "../../transforms/harness.ts";
import { compareValues, gpuSkipReason, onGpu } from "./gpu.ts";
import { runOnGpu } from "./run-program.ts";

/** float32 sums of K products in [-1, 1): relative to max(1, |want|), well inside 1e-5 for K <= 300. */
const TOL = 1e-5;

async function expectDot(strategy: DotStrategy, args: NDArray[], params: RoutineParams["dot_general"]): Promise<void> {
  const [want] = applyPrim("dot_general", args, params) as NDArray[];
  const inAvals = args.map((a) => a.aval);
  const got = await runOnGpu(dotProgram(inAvals, [want.aval], params, strategy), args, want.aval);
  const msg = compareValues(got, want.dataSync(), isFloat(want.dtype), TOL);
  expect(msg, `${strategy} ${JSON.stringify(inAvals.map((a) => a.shape))} ${JSON.stringify(params)}`).toBeNull();
}

const mm: RoutineParams["dot_general"] = { dims: { contracting: [[1], [0]], batch: [[], []] } };

describe.skipIf(gpuSkipReason !== null)("webgpu dot_general kernels", () => {
  it("ragged matrix products match the CPU in every kernel", async () => {
    const rng = new Rng(1);
    const sizes = [
      [1, 1, 1],
      [5, 3, 7],
      [37, 29, 45],
      [16, 16, 16],
      [17, 64, 63],
      [65, 5, 129],
      [3, 300, 2],
    ];
    for (const s of productStrategies()) {
      for (const [M, K, N] of sizes) await expectDot(s, [rng.array([M, K], "float32"), rng.array([K, N], "float32")], mm);
    }
  });

  it("batched products with axes in any order (the pack pass) match", async () => {
    const rng = new Rng(2);
    // lhs [K, B, M] and rhs [N, B, K]: every operand needs its gather pass.
    const params: RoutineParams["dot_general"] = { dims: { contracting: [[0], [2]], batch: [[1], [1]] } };
    for (const s of productStrategies()) {
      await expectDot(s, [rng.array([9, 3, 13], "float32"), rng.array([6, 3, 9], "float32")], params);
      // Two contracting and two batch axes, interleaved.
      const p2: RoutineParams["dot_general"] = {
        dims: {
          contracting: [
            [3, 0],
            [1, 2],
          ],
          batch: [
            [1, 2],
            [0, 3],
          ],
        },
      };
      await expectDot(s, [rng.array([3, 2, 4, 5, 6], "float32"), rng.array([2, 5, 3, 4, 7], "float32")], p2);
    }
  });

  it("int32 products wrap like the CPU's Math.imul path, uint32 too", async () => {
    const rng = new Rng(3);
    for (const s of productStrategies()) {
      for (const dtype of ["int32", "uint32"] as DType[]) {
        const lo = dtype === "int32" ? -(2 ** 30) : 0;
        await expectDot(s, [rng.array([7, 9], dtype, lo, 2 ** 30), rng.array([9, 11], dtype, lo, 2 ** 30)], mm);
      }
    }
  });

  it("K = 0 gives zeros; empty outputs run nothing", async () => {
    const rng = new Rng(4);
    for (const s of productStrategies()) {
      await expectDot(s, [rng.array([3, 0], "float32"), rng.array([0, 5], "float32")], mm);
      expect(
        dotProgram(
          [
            { shape: [0, 4], dtype: "float32" },
            { shape: [4, 3], dtype: "float32" },
          ],
          [{ shape: [0, 3], dtype: "float32" }],
          mm,
          s,
        ).passes,
      ).toEqual([]);
    }
  });

  it("covers more than 65535 workgroups (many small batches)", async () => {
    const rng = new Rng(5);
    const params: RoutineParams["dot_general"] = { dims: { contracting: [[2], [1]], batch: [[0], [0]] } };
    // The shared kernel runs a workgroup per batch here: 70000 of them.
    await expectDot("shared", [rng.array([70000, 2, 3], "float32"), rng.array([70000, 3, 2], "float32")], params);
    await expectDot("register", [rng.array([70000, 2, 3], "float32"), rng.array([70000, 3, 2], "float32")], params);
  });

  it("the default kernel through the public API: a 256-cube product", async () => {
    const rng = new Rng(6);
    const [a, b] = [rng.array([256, 256], "float32"), rng.array([256, 256], "float32")];
    const [want] = applyPrim("dot_general", [a, b], mm) as NDArray[];
    const [got] = applyPrim("dot_general", [onGpu(a), onGpu(b)], mm) as NDArray[];
    expect(compareValues(await got.data(), want.dataSync(), true, TOL)).toBeNull();
  });
});

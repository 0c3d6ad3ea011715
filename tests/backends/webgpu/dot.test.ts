/**
 * WebGPU dot_general = the CPU beyond the property suite's small shapes, for every product
 * kernel this adapter can run (register blocks, shared-memory tiles, and subgroup sharing
 * where the device has 8-wide subgroups): ragged M, N, K around the tile sizes, batches with
 * axes in any order, int32 products that overflow (they wrap), K = 0, grids over 65535
 * workgroups, a 256-cube product, and K split over workgroups (forced on small shapes; the
 * rule's choice on a weight-gradient shape).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
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

async function expectDot(strategy: DotStrategy, args: NDArray[], params: RoutineParams["dot_general"], splitK?: number, tol = TOL): Promise<void> {
  const [want] = applyPrim("dot_general", args, params) as NDArray[];
  const inAvals = args.map((a) => a.aval);
  const got = await runOnGpu(dotProgram(inAvals, [want.aval], params, strategy, undefined, splitK), args, want.aval);
  const msg = compareValues(got, want.dataSync(), isFloat(want.dtype), tol);
  expect(msg, `${strategy} split ${splitK} ${JSON.stringify(inAvals.map((a) => a.shape))} ${JSON.stringify(params)}`).toBeNull();
}

const mm: RoutineParams["dot_general"] = { dims: { contracting: [[1], [0]], batch: [[], []] } };

// Each case compiles programs for every kernel: on lavapipe with a cold shader cache and a loaded machine that outlasts the default minute.
describe.skipIf(gpuSkipReason !== null)("webgpu dot_general kernels", { timeout: 240_000 }, () => {
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

  it("K split over workgroups (forced) = the CPU in every kernel: ragged K, batches, int32", async () => {
    const bmm: RoutineParams["dot_general"] = { dims: { contracting: [[2], [1]], batch: [[0], [0]] } };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          M: fc.integer({ min: 1, max: 40 }),
          // Past two chunks of 16 and ragged (the pack pass, a short last chunk).
          K: fc.integer({ min: 17, max: 300 }),
          N: fc.integer({ min: 1, max: 40 }),
          B: fc.constantFrom(0, 1, 3),
          splits: fc.integer({ min: 2, max: 7 }),
          dtype: fc.constantFrom<DType>("float32", "int32"),
          seed: fc.integer({ min: 1, max: 1e9 }),
        }),
        async ({ M, K, N, B, splits, dtype, seed }) => {
          const rng = new Rng(seed);
          const pre = B ? [B] : [];
          const [lo, hi] = dtype === "int32" ? [-50, 50] : [-1, 1];
          const args = [rng.array([...pre, M, K], dtype, lo, hi), rng.array([...pre, K, N], dtype, lo, hi)];
          const program = dotProgram(
            args.map((a) => a.aval),
            [{ shape: [...pre, M, N], dtype }],
            B ? bmm : mm,
            "register",
            undefined,
            splits,
          );
          // The product then a pass adding its splits (after any pack passes).
          expect(program.passes.at(-1)!.bindings[0]).toEqual({ tmp: program.temps!.length - 1 });
          for (const s of productStrategies()) await expectDot(s, args, B ? bmm : mm, splits);
        },
      ),
      { numRuns: 6 },
    );
  });

  it("the rule splits a weight gradient's long K (few output tiles) and not a square product", () => {
    const avals = (shapes: number[][]) => shapes.map((shape) => ({ shape, dtype: "float32" as const }));
    const wgrad: RoutineParams["dot_general"] = { dims: { contracting: [[0], [0]], batch: [[], []] } };
    for (const s of productStrategies()) {
      // [features x batch] @ [batch x classes] with a batch of 50000.
      const split = dotProgram(avals([[50000, 64]]).concat(avals([[50000, 10]])), avals([[64, 10]]), wgrad, s);
      expect(split.passes.at(-1)!.workgroups, s).toBeLessThan(split.passes.at(-2)!.workgroups);
      // A workgroup or so unsplit; chunks of a few hundred steps of K split.
      expect(split.passes.at(-2)!.workgroups, s).toBeGreaterThanOrEqual(100);
      expect(
        dotProgram(
          avals([
            [256, 256],
            [256, 256],
          ]),
          avals([[256, 256]]),
          mm,
          s,
        ).passes,
        s,
      ).toHaveLength(1);
    }
  });

  it("a weight gradient with the rule's split = the CPU", async () => {
    const rng = new Rng(7);
    const wgrad: RoutineParams["dot_general"] = { dims: { contracting: [[0], [0]], batch: [[], []] } };
    // float32 sums of 20000 products: each chunk and their sum round differently from the CPU's order.
    for (const s of productStrategies()) await expectDot(s, [rng.array([20000, 33], "float32"), rng.array([20000, 7], "float32")], wgrad, undefined, 1e-4);
  });

  it("the default kernel through the public API: a 256-cube product", async () => {
    const rng = new Rng(6);
    const [a, b] = [rng.array([256, 256], "float32"), rng.array([256, 256], "float32")];
    const [want] = applyPrim("dot_general", [a, b], mm) as NDArray[];
    const [got] = applyPrim("dot_general", [onGpu(a), onGpu(b)], mm) as NDArray[];
    expect(compareValues(await got.data(), want.dataSync(), true, TOL)).toBeNull();
  });
});

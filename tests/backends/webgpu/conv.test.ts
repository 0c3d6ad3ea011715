/**
 * WebGPU conv_general_dilated = the CPU beyond the property suite's small shapes, for each
 * product kernel under im2col and for the direct kernel: random strides, padding (cropping
 * too), both dilations and feature groups; patch buffers split over several chunks; the
 * direct fallback when one image's patches exceed the limit; grids over 65535 workgroups;
 * empty batches; K split over workgroups (forced, chunked patches too).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { NDArray } from "../../../core/array.ts";
import type { ConvParams } from "../../../core/routines.ts";
import { productStrategies, type DotStrategy } from "../../../core/backends/webgpu/kernels/dot.ts";
import { convProgram } from "../../../core/backends/webgpu/kernels/conv.ts";
import { lax } from "../../../index.ts";
import { Rng } from "../../cases/types.ts";
import { randomConvConfig } from "../../cases/conv.ts";
import { applyPrim } from "../../transforms/harness.ts";
import { compareValues, gpuSkipReason, onGpu } from "./gpu.ts";
import { runOnGpu } from "./run-program.ts";
import { convParams } from "../../helpers.ts";

type Strategy = DotStrategy | "direct";
const strategies = (): Strategy[] => ["direct", ...productStrategies()];

/** float32 sums of up to a few hundred products of values in [-1, 1). */
const TOL = 2e-5;

async function expectConv(strategy: Strategy, args: NDArray[], params: ConvParams, patchLimit?: number, splitK?: number): Promise<void> {
  const [want] = applyPrim("conv_general_dilated", args, params) as NDArray[];
  const program = convProgram(
    args.map((a) => a.aval),
    [want.aval],
    params,
    strategy,
    patchLimit,
    undefined,
    splitK,
  );
  const got = await runOnGpu(program, args, want.aval);
  const msg = compareValues(got, want.dataSync(), true, TOL);
  expect(msg, `${strategy} split ${splitK} lhs ${args[0].shape} rhs ${args[1].shape} ${JSON.stringify(params)}`).toBeNull();
}

// Each case compiles a program per kernel; on lavapipe with a cold shader cache and a loaded machine that outlasts the default minute.
describe.skipIf(gpuSkipReason !== null)("webgpu conv_general_dilated kernels", { timeout: 240_000 }, () => {
  it("random strides, paddings, dilations and groups match the CPU in every kernel", async () => {
    const rng = new Rng(11);
    for (let t = 0; t < 12; t++) {
      const { lhsShape, rhsShape, params } = randomConvConfig(rng);
      const args = [rng.array(lhsShape, "float32"), rng.array(rhsShape, "float32")];
      for (const s of strategies()) await expectConv(s, args, params);
    }
  });

  it("channels that fill whole vec4s and ones that need padding", async () => {
    const rng = new Rng(12);
    const base = convParams(1);
    for (const [cin, k, groups] of [
      [4, 1, 1],
      [3, 3, 1],
      [8, 3, 2],
      [6, 2, 3],
    ]) {
      const args = [rng.array([2, cin, 9, 7], "float32"), rng.array([2 * groups, cin / groups, k, k], "float32")];
      for (const s of strategies()) await expectConv(s, args, { ...base, groups });
    }
  });

  it("patch rows of a multiple of 4 columns (stored as vec4s) and of others, with strides, dilations and cropping", async () => {
    const rng = new Rng(14);
    const widths = new Set<boolean>();
    for (const [W, stride, lhsDil, rhsDil, lo, hi] of [
      [8, 1, 1, 1, 1, 1],
      [7, 1, 1, 1, 1, 1],
      [9, 2, 1, 1, 1, 0],
      [5, 1, 2, 2, 2, -1],
      [12, 3, 1, 2, 0, 3],
    ]) {
      const params: ConvParams = {
        ...convParams(1),
        strides: [1, stride],
        padding: [
          [1, 1],
          [lo, hi],
        ],
        lhsDilation: [1, lhsDil],
        rhsDilation: [1, rhsDil],
      };
      const args = [rng.array([3, 2, 5, W], "float32"), rng.array([4, 2, 3, 3], "float32")];
      const [want] = applyPrim("conv_general_dilated", args, params) as NDArray[];
      widths.add(want.shape[3] % 4 === 0);
      for (const limit of [undefined, 2 * 2 * 9 * Math.ceil((want.shape[2] * want.shape[3]) / 4) * 4]) await expectConv("register", args, params, limit);
    }
    expect([...widths].sort()).toEqual([false, true]);
  });

  it("patches split over chunks of images, or the direct kernel when one image is too big", async () => {
    const rng = new Rng(13);
    const params: ConvParams = {
      strides: [2, 1],
      padding: [
        [0, 2],
        [1, -1],
      ],
      lhsDilation: [1, 2],
      rhsDilation: [2, 1],
      groups: 2,
    };
    const args = [rng.array([7, 4, 8, 6], "float32"), rng.array([6, 2, 3, 2], "float32")];
    const [want] = applyPrim("conv_general_dilated", args, params) as NDArray[];
    const perImage = 2 * 12 * Math.ceil((want.shape[2] * want.shape[3]) / 4) * 4;
    for (const limit of [perImage, 3 * perImage, perImage - 1]) await expectConv("register", args, params, limit);
    expect(
      convProgram(
        args.map((a) => a.aval),
        [want.aval],
        params,
        "register",
        perImage - 1,
      ).passes,
    ).toHaveLength(1);
    expect(
      convProgram(
        args.map((a) => a.aval),
        [want.aval],
        params,
        "register",
        3 * perImage,
      ).passes,
    ).toHaveLength(3 * 2);
  });

  it("K split over workgroups (forced) = the CPU in every product kernel", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 2, max: 5 }), async (seed, splits) => {
        const rng = new Rng(seed);
        const { lhsShape, rhsShape, params } = randomConvConfig(rng);
        const args = [rng.array(lhsShape, "float32"), rng.array(rhsShape, "float32")];
        for (const s of productStrategies()) await expectConv(s, args, params, undefined, splits);
      }),
      { numRuns: 3 },
    );
    // Weight-gradient-like: K = Cg·7·7 over a 5x5 output, in chunks of two images (the later ones store at a batch offset).
    const rng = new Rng(16);
    const params = convParams(1);
    for (const groups of [1, 2]) {
      const args = [rng.array([5, 8, 9, 9], "float32"), rng.array([4, 8 / groups, 7, 7], "float32")];
      const perImage = groups * (392 / groups) * 28;
      for (const s of productStrategies()) await expectConv(s, args, { ...params, groups }, 2 * perImage, 2 + groups);
      const program = convProgram(
        args.map((a) => a.aval),
        [{ shape: [5, 4, 5, 5], dtype: "float32" }],
        { ...params, groups },
        "register",
        2 * perImage,
        undefined,
        3,
      );
      // Per chunk: im2col, the split product, the sum of its splits.
      expect(program.passes).toHaveLength(3 * 3);
    }
  });

  it("covers more than 65535 workgroups; empty batches run nothing", async () => {
    const rng = new Rng(14);
    const params = convParams(0);
    // 2100 x 2100 outputs: 68907 workgroups of the direct kernel.
    await expectConv("direct", [rng.array([1, 1, 2100, 2100], "float32"), rng.array([1, 1, 1, 1], "float32")], params);
    const empty = convProgram(
      [
        { shape: [0, 2, 4, 4], dtype: "float32" },
        { shape: [3, 2, 3, 3], dtype: "float32" },
      ],
      [{ shape: [0, 3, 2, 2], dtype: "float32" }],
      params,
    );
    expect(empty.passes).toEqual([]);
  });

  it("the default kernel through lax.conv: 8x16x16x16 -> 32, 3x3 SAME", async () => {
    const rng = new Rng(15);
    const [x, w] = [rng.array([8, 16, 16, 16], "float32"), rng.array([32, 16, 3, 3], "float32")];
    const want = lax.conv(x, w, { padding: "SAME" }) as NDArray;
    const got = lax.conv(onGpu(x), onGpu(w), { padding: "SAME" }) as NDArray;
    expect(compareValues(await got.data(), want.dataSync(), true, TOL)).toBeNull();
  });
});

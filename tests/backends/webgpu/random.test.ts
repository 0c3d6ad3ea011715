/**
 * WebGPU random = the CPU, bit for bit: threefry2x32 itself at full-range words and over
 * more than 65535 workgroups, and the public random functions from a key on the GPU
 * (eagerly, under jit and vmap), which run threefry2x32 plus elementwise ops.
 */
import { describe, expect, it } from "vitest";
import { jit, random, vmap } from "../../../index.ts";
import type { NDArray } from "../../../core/array.ts";
import { isFloat } from "../../../core/dtype.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { Rng } from "../../cases/types.ts";
import { applyPrim } from "../../transforms/harness.ts";
import { compareValues, gpuSkipReason, onGpu } from "./gpu.ts";

const BIG = 64 * 65536 + 3; // one value per invocation: more than 65535 workgroups of 64

/**
 * Expects `f` of a GPU key to equal `f` of the same CPU key: exactly where the computation
 * is bit-exact in float32 (`tol` 0), else within `tol` relative.
 */
async function expectSameDraw(f: (key: Tracer) => Tracer, seed: number, tol = 0, onGpuToo = true): Promise<void> {
  const key = random.key(seed) as NDArray;
  const want = f(key) as NDArray;
  const got = f(onGpu(key)) as NDArray;
  expect(got.shape).toEqual(want.shape);
  expect(got.dtype).toBe(want.dtype);
  if (onGpuToo) expect(got.backendImpl.name).toBe("webgpu");
  expect(compareValues(await got.data(), want.dataSync(), isFloat(want.dtype), tol)).toBeNull();
}

describe.skipIf(gpuSkipReason !== null)("webgpu random", () => {
  it("threefry2x32 matches the CPU bit for bit at full-range words, over more than 65535 workgroups", async () => {
    const rng = new Rng(5);
    for (const shape of [[BIG], [3, 7], [0], []]) {
      const args = [0, 1, 2, 3].map(() => rng.array(shape, "uint32", 0, 2 ** 32));
      const want = applyPrim("threefry2x32", args, {}) as NDArray[];
      const got = applyPrim("threefry2x32", args.map(onGpu), {}) as NDArray[];
      for (let k = 0; k < 2; k++) {
        expect(got[k].shape).toEqual(shape);
        expect(compareValues(await got[k].data(), want[k].dataSync(), false, 0)).toBeNull();
      }
    }
  });

  it("uniform, bits and bernoulli give the CPU's values exactly, also over more than 65535 workgroups", async () => {
    await expectSameDraw((k) => random.bits(k, [BIG]), 0);
    await expectSameDraw((k) => random.uniform(k, [BIG]), 1);
    await expectSameDraw((k) => random.uniform(k, [5, 6], { minval: -3, maxval: 2 }), 2 ** 32 + 5);
    await expectSameDraw((k) => random.bernoulli(k, 0.3, [4, 1000]), -1);
    await expectSameDraw((k) => random.uniform(k, [0, 3]), 3);
  });

  it("normal is within 1e-6 of the CPU (erf_inv differs in the last bits)", async () => {
    await expectSameDraw((k) => random.normal(k, [BIG]), 4, 1e-6);
    await expectSameDraw((k) => random.normal(k, [7, 3]), 5, 1e-6);
  });

  it("randint, split and foldIn give the CPU's integers exactly", async () => {
    await expectSameDraw((k) => random.randint(k, [BIG], -7, 1000), 6);
    await expectSameDraw((k) => random.randint(k, [50], 0, 2 ** 32 - 1, { dtype: "uint32" }), 7);
    await expectSameDraw((k) => random.randint(k, [50], -(2 ** 31), 2 ** 31 - 1), 8);
    await expectSameDraw((k) => random.split(k, 5), 9);
    await expectSameDraw((k) => random.split(k, 0), 9);
    await expectSameDraw((k) => random.foldIn(k, 123456789), 10);
    await expectSameDraw((k) => vmap((kk: Tracer) => random.foldIn(kk, 2 ** 32 - 1))(random.split(k, 3)) as Tracer, 11);
  });

  it("permutation gives the CPU's permutation", async () => {
    await expectSameDraw((k) => random.permutation(k, 100), 12);
    // Sizes 0 and 1 need no shuffling round, so the result is the CPU's arange.
    await expectSameDraw((k) => random.permutation(k, 0), 12, 0, false);
  });

  it("draws under jit and vmap over GPU keys equal the CPU's", async () => {
    await expectSameDraw(jit((k: Tracer) => random.uniform(random.foldIn(k, 3), [1000])) as (k: Tracer) => Tracer, 13);
    await expectSameDraw(jit((k: Tracer) => random.normal(k, [64])) as (k: Tracer) => Tracer, 14, 1e-6);
    await expectSameDraw((k) => vmap((kk: Tracer) => random.uniform(kk, [33]))(random.split(k, 4)) as Tracer, 15);
    await expectSameDraw((k) => vmap((kk: Tracer) => random.randint(kk, [9], 0, 10))(random.split(k, 3)) as Tracer, 16);
  });
});

/**
 * WebGPU windowed reductions and selections = the CPU beyond the property suite: ranks 1 to
 * 4, int32 / uint32 operands, ties (the first position in the window wins), NaN (wins like
 * argmax), windows that cover only padding, a 2x2 max pool and its backward at a realistic
 * size, and empty operands.
 */
import { describe, it } from "vitest";
import { fromTyped, type NDArray } from "../../../core/array.ts";
import type { DType } from "../../../core/dtype.ts";
import type { Params } from "../../../core/primitive.ts";
import { sizeOf } from "../../../core/shape.ts";
import { Rng } from "../../cases/types.ts";
import { randomWindowConfig, windowedShape } from "../../cases/window.ts";
import { expectSameAsCpu, gpuSkipReason } from "./gpu.ts";

/** Window sums of up to a few dozen float32 values in [-1, 1). */
const TOL = 1e-5;
const expectSame = (prim: string, args: NDArray[], params: Params) => expectSameAsCpu(prim, args, params, TOL);

/** A random window config of `rank` axes whose padding may exceed the window (windows of padding only). */
const config = (rng: Rng, rank: number) => randomWindowConfig(rng, rank, false, { rank, maxPad: 4, maxDim: 8 });

/** Values drawn from a few levels, so windows hold ties; NaN at about `nanRate` of the floats. */
function tiedArray(rng: Rng, shape: number[], dtype: DType, nanRate = 0): NDArray {
  const n = sizeOf(shape);
  const C = { float32: Float32Array, int32: Int32Array, uint32: Uint32Array }[dtype as "float32"];
  const data = new C(n);
  for (let i = 0; i < n; i++) data[i] = rng.next() < nanRate ? NaN : rng.int(dtype === "uint32" ? 0 : -2, 3);
  return fromTyped(data, shape, dtype);
}

describe.skipIf(gpuSkipReason !== null)("webgpu window kernels", () => {
  it("reduce_window_sum / max / min over ranks 1-4, float32, int32 and uint32, ties included", async () => {
    const rng = new Rng(21);
    for (let t = 0; t < 8; t++) {
      const { shape, params } = config(rng, 1 + (t % 4));
      for (const dtype of ["float32", "int32", "uint32"] as DType[]) {
        await expectSame("reduce_window_sum", [rng.array(shape, dtype, dtype === "float32" ? -1 : -1000, 1000)], params);
        const x = tiedArray(rng, shape, dtype);
        await expectSame("reduce_window_max", [x], params);
        await expectSame("reduce_window_min", [x], params);
      }
    }
  });

  it("select_and_gather_add / select_and_scatter_add pick the first of tied values and NaN like argmax", async () => {
    const rng = new Rng(22);
    for (let t = 0; t < 10; t++) {
      const { shape, params } = config(rng, 1 + (t % 4));
      const x = tiedArray(rng, shape, "float32", t % 2 ? 0.15 : 0);
      for (const select of ["max", "min"]) {
        const p = { ...params, select };
        await expectSame("reduce_window_max", [x], params);
        await expectSame("select_and_gather_add", [rng.array(shape, "float32"), x], p);
        await expectSame("select_and_scatter_add", [rng.array(windowedShape(shape, params), "float32"), x], p);
      }
    }
  });

  it("int32 selections are exact", async () => {
    const rng = new Rng(23);
    const { shape, params } = config(rng, 3);
    const x = tiedArray(rng, shape, "int32");
    for (const select of ["max", "min"]) {
      await expectSame("select_and_gather_add", [rng.array(shape, "int32", -99, 99), x], { ...params, select });
      await expectSame("select_and_scatter_add", [rng.array(windowedShape(shape, params), "int32", -99, 99), x], { ...params, select });
    }
  });

  it("a 2x2 max pool of 8x16x32x32 and its backward", async () => {
    const rng = new Rng(24);
    const shape = [8, 16, 32, 32];
    const params = {
      window: [1, 1, 2, 2],
      strides: [1, 1, 2, 2],
      padding: [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
      ],
    };
    const x = rng.array(shape, "float32");
    await expectSame("reduce_window_max", [x], params);
    await expectSame("reduce_window_sum", [x], params);
    await expectSame("select_and_scatter_add", [rng.array([8, 16, 16, 16], "float32"), x], { ...params, select: "max" });
    // Overlapping 3x3 windows, stride 1: every element collects from up to 9 windows.
    const p3 = {
      window: [1, 1, 3, 3],
      strides: [1, 1, 1, 1],
      padding: [
        [0, 0],
        [0, 0],
        [1, 1],
        [1, 1],
      ],
    };
    await expectSame("select_and_scatter_add", [rng.array(shape, "float32"), x], { ...p3, select: "max" });
  });

  it("empty operands: every window covers padding only", async () => {
    const rng = new Rng(25);
    // Axis 0 has no elements; its padding makes three windows, all of padding.
    const pad = {
      window: [2, 1],
      strides: [1, 1],
      padding: [
        [2, 2],
        [0, 0],
      ] as [number, number][],
    };
    for (const dtype of ["float32", "int32", "uint32"] as DType[]) {
      const x = rng.array([0, 3], dtype, 0, 5);
      await expectSame("reduce_window_sum", [x], pad);
      await expectSame("reduce_window_max", [x], pad);
      await expectSame("reduce_window_min", [x], pad);
    }
    await expectSame("select_and_gather_add", [rng.array([0, 3], "float32"), rng.array([0, 3], "float32")], { ...pad, select: "max" });
    await expectSame("select_and_scatter_add", [rng.array([3, 3], "float32"), rng.array([0, 3], "float32")], { ...pad, select: "min" });
  });
});

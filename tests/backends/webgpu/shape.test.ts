/**
 * WebGPU slice, pad, concatenate and rev = the CPU, at the edges the property suite's
 * small shapes miss: grids over 65535 workgroups, empty operands, many concatenated
 * inputs (more than one pass's bindings), negative padding, every dtype.
 */
import { describe, it } from "vitest";
import type { DType } from "../../../core/dtype.ts";
import { Rng } from "../../cases/types.ts";
import { expectSameAsCpu, gpuSkipReason } from "./gpu.ts";

const DTYPES: DType[] = ["float32", "int32", "uint32", "bool"];
const BIG = 65536 * 64 + 37; // one element per invocation: more than 65535 workgroups of 64

describe.skipIf(gpuSkipReason !== null)("webgpu shape kernels", () => {
  it("cover more than 65535 workgroups", async () => {
    const rng = new Rng(7);
    const x = rng.array([BIG], "float32", -5, 5);
    await expectSameAsCpu("slice", [x], { start: [3], limit: [BIG], strides: [1] });
    await expectSameAsCpu("rev", [x], { axes: [0] });
    await expectSameAsCpu("pad", [x, rng.array([], "float32")], { config: [[-2, 5, 0]] });
    await expectSameAsCpu("concatenate", [x, rng.array([9], "float32")], { axis: 0 });
  });

  it("slice with strides, rev of several axes and pad with interior and negative padding, per dtype", async () => {
    for (const [seed, dtype] of DTYPES.entries()) {
      const rng = new Rng(seed + 1);
      const x = rng.array([5, 7, 6], dtype, -9, 9);
      await expectSameAsCpu("slice", [x], { start: [1, 0, 2], limit: [5, 7, 6], strides: [3, 2, 1] });
      await expectSameAsCpu("rev", [x], { axes: [0, 2] });
      await expectSameAsCpu("pad", [x, rng.array([], dtype, -9, 9)], {
        config: [
          [2, -1, 1],
          [-3, -4, 2],
          [0, 3, 0],
        ],
      });
    }
  });

  it("handle empty operands and results", async () => {
    const rng = new Rng(3);
    const x = rng.array([4, 6], "float32");
    await expectSameAsCpu("slice", [x], { start: [1, 3], limit: [3, 3], strides: [1, 1] });
    // An empty operand pads to all-padding.
    await expectSameAsCpu("pad", [rng.array([0, 3], "int32", 0, 9), rng.array([], "int32", 0, 9)], {
      config: [
        [2, 1, 3],
        [0, 0, 1],
      ],
    });
    await expectSameAsCpu("rev", [rng.array([0, 5], "float32")], { axes: [1] });
    const parts = [0, 2, 0, 3].map((n) => rng.array([3, n], "float32"));
    await expectSameAsCpu("concatenate", parts, { axis: 1 });
  });

  it("concatenate takes any number of inputs along any axis", async () => {
    const rng = new Rng(11);
    for (const axis of [0, 1, 2]) {
      const parts = Array.from({ length: 17 }, (_, k) => {
        const s = [2, 3, 4];
        s[axis] = k % 4;
        return rng.array(s, "int32", -100, 100);
      });
      await expectSameAsCpu("concatenate", parts, { axis });
    }
  });
});

/**
 * WebGPU linalg = the CPU at the edges the property suite's small shapes miss: batches over
 * 65535 workgroups, matrices big enough that the workspace moves from private memory to a
 * scratch buffer, exactly singular matrices (NaN / 0 / -inf / 0), n = 0, empty batches,
 * non-finite inputs, and expm norms that need many squarings.
 */
import { describe, expect, it } from "vitest";
import { fromTyped, type NDArray } from "../../../core/array.ts";
import { Rng } from "../../cases/types.ts";
import { applyPrim } from "../../transforms/harness.ts";
import { expectSameAsCpu, gpuSkipReason } from "./gpu.ts";

const BIG = 64 * 65536 + 3; // one matrix per invocation: more than 65535 workgroups of 64

const mat = (rows: number[][][], n = rows[0].length) => fromTyped(new Float32Array(rows.flat(2)), [rows.length, n, n], "float32");

/** n I (random sign) + noise, well conditioned, as in tests/cases/linalg.ts. */
function wellConditioned(rng: Rng, batch: number, n: number): NDArray {
  const a = rng.array([batch, n, n], "float32", -0.5, 0.5).dataSync();
  for (let m = 0; m < batch; m++) {
    const s = rng.next() < 0.5 ? -n : n;
    for (let i = 0; i < n; i++) a[m * n * n + i * n + i] += s;
  }
  return fromTyped(a, [batch, n, n], "float32");
}

/** float32 results of a few products and divisions per element. */
const TOL = 2e-4;
const LU_PRIMS = ["det", "log_abs_det", "det_sign"];

describe.skipIf(gpuSkipReason !== null)("webgpu linalg", () => {
  it("covers batches of more than 65535 workgroups", async () => {
    const rng = new Rng(1);
    const a = rng.array([BIG, 1, 1], "float32", -2, 2);
    await expectSameAsCpu("expm", [a], {}, TOL);
    await expectSameAsCpu("det", [a], {}, TOL);
    await expectSameAsCpu("solve", [a, rng.array([BIG, 1, 2], "float32")], {}, TOL);
  });

  it("agrees for a batch of thousands of 3x3 affine generators (expm, expm_frechet)", async () => {
    const rng = new Rng(2);
    const g = rng.array([5000, 3, 3], "float32", -1.5, 1.5).dataSync();
    for (let b = 0; b < 5000; b++) for (let j = 0; j < 3; j++) g[b * 9 + 6 + j] = 0; // last row 0: affine
    const gen = fromTyped(g, [5000, 3, 3], "float32");
    await expectSameAsCpu("expm", [gen], {}, TOL);
    await expectSameAsCpu("expm_frechet", [gen, rng.array([5000, 3, 3], "float32")], {}, TOL);
  });

  it("agrees when the workspace is in private memory and when it is in a scratch buffer", async () => {
    const rng = new Rng(3);
    // expm keeps 8 n^2 floats (private up to n = 8), expm_frechet the same for 2n, the LU kernels n^2 (up to n = 22).
    for (const n of [2, 8, 9, 12]) await expectSameAsCpu("expm", [rng.array([5, n, n], "float32", -0.3, 0.3)], {}, TOL);
    for (const n of [4, 5, 7]) await expectSameAsCpu("expm_frechet", [rng.array([3, n, n], "float32", -0.3, 0.3), rng.array([3, n, n], "float32")], {}, TOL);
    for (const n of [22, 23, 30]) {
      const a = wellConditioned(rng, 4, n);
      await expectSameAsCpu("solve", [a, rng.array([4, n, 5], "float32")], {}, TOL);
      for (const p of LU_PRIMS) await expectSameAsCpu(p, [a], {}, TOL);
    }
  });

  it("follows the CPU on exactly singular matrices: solve NaN, det 0, log_abs_det -inf, det_sign 0", async () => {
    // Elimination is exact in float32 for these (dyadic multipliers), so both backends see a zero pivot.
    const two = mat([
      [
        [1, 2],
        [2, 4],
      ],
      [
        [0, 0],
        [0, 0],
      ],
      [
        [0, 3],
        [0, 1],
      ],
      [
        [3, 1],
        [2, 5],
      ],
    ]);
    const three = mat([
      [
        [2, 4, 6],
        [1, 2, 3],
        [0, 1, 1],
      ],
      [
        [1, 0, 0],
        [0, 0, 0],
        [0, 0, 1],
      ],
      [
        [2, 0, 1],
        [0, 3, 0],
        [1, 0, 4],
      ],
    ]);
    for (const a of [two, three]) {
      const n = a.shape[1];
      const [want] = applyPrim("solve", [a, fromTyped(new Float32Array(a.shape[0] * n).fill(1), [a.shape[0], n, 1], "float32")], {}) as NDArray[];
      expect(Number.isNaN(want.dataSync()[0])).toBe(true);
      await expectSameAsCpu("solve", [a, fromTyped(new Float32Array(a.shape[0] * n).fill(1), [a.shape[0], n, 1], "float32")], {}, TOL);
      for (const p of LU_PRIMS) await expectSameAsCpu(p, [a], {}, TOL);
    }
  });

  it("handles n = 0, empty batches and non-finite entries", async () => {
    const rng = new Rng(4);
    const none = fromTyped(new Float32Array(0), [3, 0, 0], "float32");
    for (const p of LU_PRIMS) await expectSameAsCpu(p, [none], {}, TOL);
    await expectSameAsCpu("expm", [none], {}, TOL);
    await expectSameAsCpu("solve", [none, fromTyped(new Float32Array(0), [3, 0, 2], "float32")], {}, TOL);
    const empty = fromTyped(new Float32Array(0), [0, 3, 3], "float32");
    for (const p of [...LU_PRIMS, "expm"]) await expectSameAsCpu(p, [empty], {}, TOL);
    await expectSameAsCpu("expm_frechet", [empty, empty], {}, TOL);
    const a = rng.array([3, 3, 3], "float32").dataSync();
    a[4] = NaN;
    a[9 + 2] = Infinity;
    const bad = fromTyped(a, [3, 3, 3], "float32");
    await expectSameAsCpu("expm", [bad], {}, TOL);
    const good = rng.array([3, 3, 3], "float32");
    await expectSameAsCpu("expm_frechet", [good, bad], {}, TOL);
    await expectSameAsCpu("expm_frechet", [bad, good], {}, TOL);
    await expectSameAsCpu("expm_frechet", [good, fromTyped(new Float32Array(27), [3, 3, 3], "float32")], {}, TOL);
  });

  it("agrees on expm of large norms (many squarings) and every Padé degree", async () => {
    // Rotation generators: exp is orthogonal, so the many squarings stay well conditioned.
    const rot = mat(
      [30, 100, 1000].map((t) => [
        [0, t],
        [-t, 0],
      ]),
    );
    await expectSameAsCpu("expm", [rot], {}, TOL);
    const rng = new Rng(5);
    // Norms around each theta of the degree choice (0.015, 0.25, 0.95, 2.1, 5.4).
    for (const s of [0.003, 0.05, 0.2, 0.5, 1, 2]) await expectSameAsCpu("expm", [rng.array([20, 4, 4], "float32", -s, s)], {}, TOL);
  });
});

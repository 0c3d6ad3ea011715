/**
 * Arrays over the adapter's storage binding limit (128 MiB on lavapipe) on WebGPU: each
 * lives in one buffer bound as several windows (core/backends/webgpu/windows.ts). One
 * int32 array of 36·2^20 elements (144 MiB: a window of 2^25 elements and a second of
 * 2^22) goes through upload and readback, fused and eager elementwise kernels,
 * reductions, a transpose, slices, concatenation, take and a matrix product, each checked
 * against closed forms over every element, or at and around the window boundary and at
 * random positions where only few elements come back. lavapipe runs about one 36M-element
 * pass a second, so the file does a few dozen.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { getBackend, jit, np } from "../../../index.ts";
import type { NDArray } from "../../../core/array.ts";
import { gpuStats, type WebGpuBackend } from "../../../core/backends/webgpu/index.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { gpuSkipReason, onGpu } from "./gpu.ts";

const N = 36 * 2 ** 20;
/** Rows x columns of the matrix views of the array; 3072 does not divide the window, so one row straddles it. */
const R = 12288,
  C = 3072;
const mod1000 = (v: Tracer) => np.astype(np.rem(v, 1000), "float32").mul(0.002).sub(1);
/** mod1000 in float32 arithmetic, as the kernels compute it. */
const mod1000At = (i: number) => Math.fround(Math.fround(Math.fround(i % 1000) * Math.fround(0.002)) - 1);

/** The first index where `ok` fails over [0, n), or -1. */
function firstBad(n: number, ok: (i: number) => boolean): number {
  for (let i = 0; i < n; i++) if (!ok(i)) return i;
  return -1;
}

/** Indices at and around every window boundary below `n`, and the ends. */
function edges(n: number, w: number): number[] {
  const out = [0, 1, n - 2, n - 1];
  for (let b = w; b < n; b += w) for (let d = -3; d <= 3; d++) if (b + d >= 0 && b + d < n) out.push(b + d);
  return out;
}

/** `fast-check`-drawn indices in [0, n) plus the boundary ones. */
const someIndices = (n: number, w: number, count = 64) => [...edges(n, w), ...fc.sample(fc.integer({ min: 0, max: n - 1 }), count)];

describe.skipIf(gpuSkipReason !== null)("webgpu arrays over the storage binding limit", () => {
  const be = () => getBackend("webgpu") as unknown as WebGpuBackend;
  let real: WebGpuBackend["windows"];
  let x: NDArray;
  /** Elements per window of a 4-byte array. */
  let W: number;

  beforeAll(() => {
    real = be().windows;
    // Adapters binding more than 144 MiB at once get lavapipe's 128 MiB windows, so the array still spans two.
    if (real.windowBytes >= 4 * N) be().windows = { ...real, windowBytes: 2 ** 27 };
    W = be().windows.windowBytes / 4;
    x = np.arange(N, undefined, 1, { dtype: "int32", backend: "webgpu" }) as NDArray;
  });
  afterAll(() => {
    x?.dispose();
    if (real) be().windows = real;
  });

  it("an upload reads back whole", async () => {
    const got = await x.data();
    expect(got.length).toBe(N);
    expect(firstBad(N, (i) => got[i] === i)).toBe(-1);
  });

  it("an elementwise chain gives the same bits eagerly and fused under jit, and the closed form", async () => {
    // W is not a multiple of 1000, so an element read from the wrong window would show.
    const f = (v: Tracer) => np.tanh(np.astype(np.rem(v, 1000), "float32").mul(0.005));
    const before = gpuStats.windowedDispatches;
    const fused = jit(f)(x) as NDArray;
    const eager = f(x) as NDArray;
    const [a, b] = [await fused.data(), await eager.data()];
    fused.dispose();
    eager.dispose();
    expect(gpuStats.windowedDispatches).toBeGreaterThan(before);
    expect(firstBad(N, (i) => a[i] === b[i])).toBe(-1);
    for (const i of someIndices(N, W)) expect(Math.abs(a[i] - Math.tanh(Math.fround((i % 1000) * Math.fround(0.005)))), `element ${i}`).toBeLessThan(2e-6);
  });

  it("sum, max and argmax over the whole array, and sums along rows", async () => {
    // Under jit the reductions read x through their fused producers (one pass each).
    const reductions = jit((v: Tracer) => {
      const r7 = np.rem(v, 7);
      const spike = np.where(np.equal(v, W + 3), 1000, r7);
      return [np.sum(r7), np.max(spike), np.argmax(spike), np.sum(np.reshape(r7, [R, C]), { axis: 1 })];
    });
    const [sum, max, argmax, rowSums] = reductions(x) as NDArray[];
    const read1 = async (t: Tracer) => (await (t as NDArray).data())[0];
    const q = Math.floor(N / 7),
      m = N % 7;
    expect(await read1(sum)).toBe(21 * q + (m * (m - 1)) / 2);
    expect(await read1(max)).toBe(1000);
    expect(await read1(argmax)).toBe(W + 3);
    // One invocation per row: row floor(W / C) straddles the windows.
    const rows = await rowSums.data();
    const rowSum = (r: number) => {
      let s = 0;
      for (let j = 0; j < C; j++) s += (r * C + j) % 7;
      return s;
    };
    for (const r of someIndices(R, Math.floor(W / C), 16)) expect(rows[r], `row ${r}`).toBe(rowSum(r));
  });

  it("a transpose writes and reads across windows", async () => {
    const t = np.transpose(np.reshape(x, [R, C])) as NDArray;
    const got = await t.data();
    t.dispose();
    // got[j, i] = x[i, j] = i * C + j
    expect(firstBad(N, (k) => got[k] === (k % R) * C + Math.floor(k / R))).toBe(-1);
  });

  it("slices straddling the boundary, and a concatenation shifting the array past it", async () => {
    const s = await (np.slice(x, [[W - 1000, W + 1000, 3]]) as NDArray).data();
    expect(s.length).toBe(667);
    expect(firstBad(667, (k) => s[k] === W - 1000 + 3 * k)).toBe(-1);
    const r0 = Math.floor(W / C) - 2;
    const rows = await (
      np.slice(np.reshape(x, [R, C]), [
        [r0, r0 + 5],
        [C - 5, null],
      ]) as NDArray
    ).data();
    expect(firstBad(25, (k) => rows[k] === (r0 + Math.floor(k / 5)) * C + C - 5 + (k % 5))).toBe(-1);
    const head = onGpu(np.arange(-5, 0, 1, { dtype: "int32" }));
    const cat = np.concatenate([head, x]) as NDArray;
    const got = await cat.data();
    cat.dispose();
    expect(got.length).toBe(N + 5);
    expect(firstBad(N + 5, (k) => got[k] === k - 5)).toBe(-1);
  });

  it("take with indices on both sides of the boundary", async () => {
    const idx = someIndices(N, W);
    const got = await (np.take(x, np.array(Int32Array.from(idx), { backend: "webgpu" })) as NDArray).data();
    expect(Array.from(got)).toEqual(idx);
    // Along axis 1 of two rows: row 1 starts at N / 2, so its later columns sit in the second window.
    const cols = someIndices(N / 2, W - N / 2, 16);
    const two = await (np.take(np.reshape(x, [2, N / 2]), np.array(Int32Array.from(cols), { backend: "webgpu" }), { axis: 1 }) as NDArray).data();
    expect(Array.from(two)).toEqual([...cols, ...cols.map((c) => N / 2 + c)]);
  });

  it("a matrix product (with a fused epilogue) whose lhs spans two windows, one row straddling them", async () => {
    const w = Float32Array.from({ length: C * 4 }, (_, k) => ((k * 37) % 11) - 5);
    const rhs = np.array(w, { backend: "webgpu" }).reshape([C, 4]);
    const lhs = np.reshape(jit(mod1000)(x), [R, C]) as NDArray;
    const got = await (jit((a: Tracer, b: Tracer) => np.maximum(np.matmul(a, b), -1e9))(lhs, rhs) as NDArray).data();
    lhs.dispose();
    for (const r of someIndices(R, Math.floor(W / C), 16)) {
      for (let c = 0; c < 4; c++) {
        let want = 0;
        for (let k = 0; k < C; k++) want += mod1000At(r * C + k) * w[k * 4 + c];
        expect(Math.abs(got[r * 4 + c] - want), `row ${r} column ${c}`).toBeLessThan(1e-5 * C);
      }
    }
  });
});

/**
 * The WebAssembly rendering of fused kernels (core/backends/cpu/wasm/render-wasm.ts)
 * against the JavaScript kernels, bit for bit: every IR ALU op on every dtype it takes,
 * on edge values (signed zeros, NaN, infinities, halves, int32 extremes, shifts past 31,
 * out-of-range float to int conversions, division by zero), as map kernels and as
 * reductions; and large kernels split over worker threads.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { jit, np } from "../../../index.ts";
import { fromTyped, type NDArray } from "../../../core/array.ts";
import type { DType } from "../../../core/dtype.ts";
import { getPrimitive } from "../../../core/primitive.ts";
import { bind1 } from "../../../core/trace.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { setFusion } from "../../../core/compiler/index.ts";
import { cpuHeap, DEFAULT_WASM_KERNEL_MIN_SIZE, inHeap, setWasmKernelMinSize, wasmKernelStats } from "../../../core/backends/cpu/wasm/kernels.ts";
import { startWorkers } from "../../../core/backends/cpu/wasm/pool.ts";

const FLOATS = [0, -0, NaN, Infinity, -Infinity, 0.5, -0.5, 1.5, 2.5, -2.5, 3, -3, 1e30, -1e-30, 1e10, -1e10, 2147483648, -2147483649, 4294967301, 0.75, -7.25, 1e-45];
const INT32 = [0, 1, -1, 7, -7, -2147483648, 2147483647, 31, 32, 33, -32, 12345, -99999, 65536];
const UINT32 = [0, 1, 7, 31, 32, 33, 2147483648, 4294967295, 12345, 65536, 3000000000, 2];
const BOOLS = [0, 1];
const VALUES: Record<DType, number[]> = { float32: FLOATS, float64: FLOATS, int32: INT32, uint32: UINT32, bool: BOOLS };

/** Every pair (a_i, b_j) of a dtype's edge values, as two flat arrays. */
function pairs(dtype: DType): [NDArray, NDArray] {
  const v = VALUES[dtype];
  const a = v.flatMap((x) => v.map(() => x));
  const b = v.flatMap(() => v);
  return [fromTyped(a as unknown as Float64Array, [a.length], dtype), fromTyped(b as unknown as Float64Array, [b.length], dtype)];
}

function same(a: Tracer, b: Tracer, what: string): void {
  const x = a.dataSync();
  const y = b.dataSync();
  expect(y.length, what).toBe(x.length);
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) throw new Error(`${what}: element ${i}: JavaScript ${x[i]}, WebAssembly ${y[i]}`);
}

/** Runs f jitted with its kernels in JavaScript, then in WebAssembly, and compares. */
function bothRenderers(f: (...xs: Tracer[]) => Tracer, args: Tracer[], what: string): void {
  setWasmKernelMinSize(Infinity);
  const js = jit(f)(...args);
  setWasmKernelMinSize(0);
  const before = wasmKernelStats.runs;
  const wasm = jit(f)(...args);
  expect(wasmKernelStats.runs, `${what} ran no wasm kernel`).toBeGreaterThan(before);
  same(js, wasm, what);
}

const bind = (name: string, args: Tracer[], params: Record<string, unknown> = {}) => bind1(getPrimitive(name), args, params);
// A reshape after the op makes a two-equation group, so the op runs inside a fused kernel.
const fused =
  (name: string, params?: Record<string, unknown>) =>
  (...xs: Tracer[]) =>
    np.reshape(bind(name, xs, params), [-1, 1]);

const FLOAT_UNARY = ["neg", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "logistic", "erf", "abs", "sign", "floor", "ceil", "round", "is_finite"];
const FLOAT_BINARY = ["add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "eq", "ne", "lt", "le", "gt", "ge"];
const INT_UNARY = ["neg", "abs", "sign", "not"];
const INT_BINARY = ["add", "sub", "mul", "div", "rem", "pow", "max", "min", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor", "shift_left", "shift_right_logical"];

beforeAll(() => setFusion(true));
afterAll(() => {
  setFusion(undefined);
  setWasmKernelMinSize(DEFAULT_WASM_KERNEL_MIN_SIZE);
});

describe("WebAssembly kernels = JavaScript kernels, bit for bit", () => {
  for (const dtype of ["float32", "float64"] as DType[]) {
    it(`every float op on ${dtype} edge values`, () => {
      const [a, b] = pairs(dtype);
      for (const op of FLOAT_UNARY) bothRenderers(fused(op), [a], `${op} ${dtype}`);
      // erf_inv on its domain and beyond.
      const u = fromTyped(Float64Array.from([-1, -0.999, -0.5, 0, -0, 0.3, 0.9999, 1, 1.5, NaN]), [10], dtype);
      bothRenderers(fused("erf_inv"), [u], `erf_inv ${dtype}`);
      for (const op of FLOAT_BINARY) bothRenderers(fused(op), [a, b], `${op} ${dtype}`);
    });
  }

  for (const dtype of ["int32", "uint32"] as DType[]) {
    it(`every integer op on ${dtype} edge values (wrap-around, division by zero, shifts past 31)`, () => {
      const [a, b] = pairs(dtype);
      for (const op of INT_UNARY) bothRenderers(fused(op), [a], `${op} ${dtype}`);
      for (const op of INT_BINARY) bothRenderers(fused(op), [a, b], `${op} ${dtype}`);
    });
  }

  it("bool ops and select", () => {
    const [a, b] = pairs("bool");
    for (const op of ["not", "and", "or", "xor", "eq", "ne", "lt", "gt"]) bothRenderers(fused(op, {}), op === "not" ? [a] : [a, b], `${op} bool`);
    const [x, y] = pairs("float32");
    const p = np.greater(x, y);
    bothRenderers((pp, xx, yy) => np.reshape(bind("select", [pp, xx, yy]), [-1, 1]), [p, x, y], "select");
  });

  it("every conversion between dtypes", () => {
    const dtypes: DType[] = ["float32", "float64", "int32", "uint32", "bool"];
    for (const from of dtypes) {
      const [a] = pairs(from);
      for (const to of dtypes) bothRenderers(fused("convert_element_type", { newDtype: to }), [a], `${from} -> ${to}`);
    }
  });

  it("reductions (sum, prod, max, min) over kept and reduced axes, every dtype", () => {
    for (const dtype of ["float32", "float64", "int32", "uint32"] as DType[]) {
      const v = VALUES[dtype];
      const x = fromTyped(
        Float64Array.from({ length: 6 * v.length }, (_, i) => v[(i * 7) % v.length]),
        [6, v.length],
        dtype,
      );
      for (const red of ["sum", "prod", "max", "min"] as const) {
        for (const axis of [0, 1, null]) {
          const f = (t: Tracer) => (np as unknown as Record<string, (x: Tracer, o: object) => Tracer>)[red === "sum" ? "sum" : red === "prod" ? "prod" : red](np.abs(t), { axis });
          bothRenderers(f, [x], `${red} axis ${axis} ${dtype}`);
        }
      }
    }
  });

  it("four-lane float32 loops: sums keep the accumulators' order, maps of every tail length, masks and broadcast values", () => {
    const vectorized = wasmKernelStats.vectorized;
    const big = 2 ** 60;
    // Element j of a row goes to accumulator j % 4, combined as (a0 + a1) + (a2 + a3): any
    // other pairing of the lanes rounds these rows' float64 sums differently.
    const rows = [
      [big, 1, -big, 1, 0, 0, 0, 0],
      [1, big, 1, -big, 3, 0, 0, 5],
      [big, -big, 1, 1, 1, 1, 1, 1],
      [1, 1, big, 1, -big, 1, 0, 0],
    ];
    const x = fromTyped(Float64Array.from(rows.flat()), [4, 8], "float32");
    bothRenderers((t: Tracer) => np.sum(t.mul(1), { axis: 1 }), [x], "four-lane sum");
    for (let n = 1; n <= 11; n++) {
      const vals = (k: number) => Float64Array.from({ length: 3 * n }, (_, i) => FLOATS[(k * 7 + i * 5) % FLOATS.length]);
      const [a, b] = [fromTyped(vals(1), [3, n], "float32"), fromTyped(vals(2), [3, n], "float32")];
      const row = fromTyped(vals(3).subarray(0, 3), [3, 1], "float32");
      // Comparisons as masks, select, max/min on signed zeros and NaN, a broadcast value and a constant.
      const f = (p: Tracer, q: Tracer, r: Tracer) => np.where(p.lessEqual(q), np.maximum(p, q.mul(r)), np.minimum(p.div(q), r).sub(0.5));
      bothRenderers(f, [a, b, row], `four-lane map over ${n} columns`);
    }
    // exp, tanh, logistic and log run their float32 programs on four lanes: random float32 bit patterns.
    const bits = new Uint32Array(4099);
    for (let i = 0, s = 12345; i < bits.length; i++) bits[i] = s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const r = fromTyped(Float64Array.from(new Float32Array(bits.buffer)), [bits.length], "float32");
    for (const op of ["exp", "tanh", "logistic", "log"]) bothRenderers((t: Tracer) => bind(op, [t.mul(0.125)]).add(0), [r], `four-lane ${op}`);
    expect(wasmKernelStats.vectorized).toBeGreaterThan(vectorized);
  });

  it("sums over axes with kept axes between them walk the input in memory order and sum as the JavaScript kernel (property)", () => {
    const interleaved = wasmKernelStats.interleaved;
    // Shapes [outer, r1, k2, r2...] reduced over r1 and r2 (batch-norm statistics of NCHW
    // over N, H, W), with runs of every length mod 4, and a kept-axis broadcast operand.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.constantFrom<DType>("float32", "float64"),
        (a, n, c, h, w, seed, dtype) => {
          const vals = (k: number, len: number) => Float64Array.from({ length: len }, (_, i) => FLOATS[(seed * 31 + k * 17 + i * 13) % FLOATS.length] * ((i % 7) - 3));
          const x = fromTyped(vals(1, a * n * c * h * w), [a, n, c, h, w], dtype);
          const b = fromTyped(vals(2, c), [c, 1, 1], dtype);
          bothRenderers((t: Tracer, s: Tracer) => np.sum(np.mul(np.abs(t), s), { axis: [1, 3, 4] }), [x, b], `sum over [1, 3, 4] of ${a}x${n}x${c}x${h}x${w} ${dtype}`);
          bothRenderers((t: Tracer) => np.sum(np.square(t), { axis: [1, 3] }), [x.reshape([a, n, c, h * w])], `sum over [1, 3] of ${a}x${n}x${c}x${h * w} ${dtype}`);
          // No kept axis before the first reduced one (NCHW statistics over N, H and W).
          bothRenderers((t: Tracer) => np.sum(t.sub(1), { axis: [0, 1, 3, 4] }), [x], `sum over [0, 1, 3, 4] of ${a}x${n}x${c}x${h}x${w} ${dtype}`);
        },
      ),
      { numRuns: 60 },
    );
    // Rows whose float64 sums round differently under any other order of their elements.
    const big = 2 ** 60;
    const rows = Float64Array.from({ length: 2 * 3 * 2 * 8 }, (_, i) => [big, 1, -big, 1, 3, big, 5, -big][i % 8] * (1 + (i % 3)));
    bothRenderers((t: Tracer) => np.sum(t.mul(1), { axis: [1, 3] }), [fromTyped(rows, [2, 3, 2, 8], "float32")], "interleaved four-lane sum");
    // Runs of 5, 6 and 7: four lanes, then the tail on the scalar accumulators, each element on its chain.
    // The first run of each output holds -big on chain 0's lane and big in its tail, on chain 0 again:
    // they cancel, and the small values survive, only where the tail continues each chain.
    for (const run of [5, 6, 7]) {
      const first = [-big, 1, 0, 0.5, big, 3, 0.25].slice(0, run);
      const vals = Float64Array.from({ length: 2 * 3 * 2 * run }, (_, i) => (Math.floor(i / (2 * run)) % 3 === 0 ? first[i % run] : (i % run) / 8));
      const x = fromTyped(vals, [2, 3, 2, run], "float32");
      bothRenderers((t: Tracer) => np.sum(t.mul(1), { axis: [1, 3] }), [x], `interleaved four-lane sum with runs of ${run}`);
      const want = 1.5 + (run > 5 ? 3 : 0) + (run > 6 ? 0.25 : 0) + (2 * (run * (run - 1))) / 2 / 8;
      expect(Array.from(np.sum(x.mul(1), { axis: [1, 3] }).dataSync())).toEqual([want, want, want, want]);
    }
    expect(wasmKernelStats.interleaved).toBeGreaterThan(interleaved);
  });

  it("random chains with transposes and broadcasts (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 1000 }), fc.constantFrom<DType>("float32", "float64"), (m, n, seed, dtype) => {
        const vals = (k: number, len: number) => Float64Array.from({ length: len }, (_, i) => FLOATS[(seed * 31 + k * 17 + i * 13) % FLOATS.length]);
        const x = fromTyped(vals(1, m * n), [m, n], dtype);
        const r = fromTyped(vals(2, n), [n], dtype);
        const f = (a: Tracer, b: Tracer) => np.sum(np.transpose(np.maximum(np.mul(np.tanh(a), b), np.sub(a, b))), { axis: 1 });
        bothRenderers(f, [x, r], `chain ${m}x${n} ${dtype}`);
      }),
      { numRuns: 100 },
    );
  });
});

describe("the CPU heap", () => {
  it("buffers made before and after the heap grows go back to it when freed, and are not shared", () => {
    const heap = cpuHeap();
    const live0 = heap.stats().liveBytes;
    // Enough 1 MiB arrays to grow the memory several times.
    const xs = Array.from({ length: 24 }, (_, i) => np.full([256, 1024], i, { dtype: "float32" }));
    expect(xs.every((x) => inHeap((x as NDArray).handle as Float32Array))).toBe(true);
    expect(heap.stats().liveBytes - live0).toBeGreaterThanOrEqual(24 * 1024 * 1024);
    for (const x of xs) x.dispose();
    expect(heap.stats().liveBytes).toBe(live0);
    // Fresh arrays reuse the freed blocks and hold their own values.
    const ys = Array.from({ length: 3 }, (_, i) => np.full([256, 1024], i + 100, { dtype: "float32" }));
    ys.forEach((y, i) => expect(new Set(y.dataSync())).toEqual(new Set([i + 100])));
  });
});

describe("WebAssembly kernels on worker threads", () => {
  it("a large map and a large reduction split over the threads give the single-thread result", async () => {
    const ready = await startWorkers();
    if (ready === 0) {
      console.log("[wasm-kernels] one core: the threaded path is not exercised here");
      return;
    }
    const n = 1 << 20;
    const x = fromTyped(
      Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3),
      [256, n / 256],
      "float32",
    );
    const b = fromTyped(
      Float32Array.from({ length: n / 256 }, (_, i) => Math.cos(i)),
      [n / 256],
      "float32",
    );
    const before = wasmKernelStats.threaded;
    bothRenderers((a, c) => np.sub(np.mul(np.tanh(np.add(a, c)), a), 0.5), [x, b], "threaded map");
    bothRenderers((a, c) => np.sum(np.mul(np.add(a, c), a), { axis: 1 }), [x, b], "threaded reduction");
    // Batch-norm statistics: the interleaved sum, its outer axis split over the threads.
    bothRenderers((a) => np.sum(np.square(a), { axis: [1, 3] }), [x.reshape([8, 16, 32, n / (8 * 16 * 32)])], "threaded interleaved reduction");
    expect(wasmKernelStats.threaded - before).toBeGreaterThanOrEqual(2);
  });
});

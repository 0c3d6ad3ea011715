/**
 * The platform BLAS path of the CPU backend: batched products against a float64 reference,
 * dot_general against the wasm kernel and the JavaScript loop, convolutions through GEMM
 * against the JavaScript convolution and finite differences, and AUGERINO_BLAS=0 / a bad
 * AUGERINO_BLAS path. Without a BLAS these tests are skipped with the reason;
 * AUGERINO_REQUIRE_BLAS=1 (CI sets it after installing OpenBLAS) makes that a failure.
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { cpuBlas, resetBlas } from "../../../core/backends/cpu/blas/library.ts";
import { gemmBatched, setBlasMinWork, type StridedMatrix } from "../../../core/backends/cpu/blas/gemm.ts";
import { convBlas, convChunks, setConvPatchBudget } from "../../../core/backends/cpu/blas/conv.ts";
import { dotGeneralBlas, dotGeneralLoop, dotGeneralWasm } from "../../../core/backends/cpu/routines/dot.ts";
import type { DotDims } from "../../../core/routines.ts";
import type { ConvParams } from "../../../core/primitives/conv.ts";
import { convGeometry } from "../../../core/backends/cpu/routines/conv.ts";
import { convParams, convProblem, lcgData } from "../../helpers.ts";
import { cpuThreads, setCpuThreads } from "../../../core/backends/cpu/wasm/pool.ts";
import { grad, lax, np, type Tracer } from "../../../index.ts";

const blas = cpuBlas();
if (!blas && process.env.AUGERINO_REQUIRE_BLAS === "1") throw new Error("AUGERINO_REQUIRE_BLAS=1 but no BLAS library loaded (see the line printed by the first product)");
if (!blas) console.log("[blas] tests skipped: no BLAS library found (Debian: apt install libopenblas0-pthread)");
const withBlas = describe.skipIf(!blas);

const EPS = { float32: 2 ** -23, float64: 2 ** -52 } as const;
type Dt = keyof typeof EPS;

const randomData = lcgData;

/** Element (b, i, j) of a strided batch. */
const at = (x: StridedMatrix, b: number, i: number, j: number) => x.data[b * x.batchStride + i * x.rowStride + j * x.colStride];

/** Layouts a test draws: row-major, transposed, or with padded rows / columns (a copy for the BLAS). */
const layouts = ["row", "col", "padded", "strided"] as const;
function view(dtype: Dt, batch: number, rows: number, cols: number, kind: (typeof layouts)[number], seed: number): StridedMatrix {
  const pad = kind === "padded" ? 3 : 0;
  const step = kind === "strided" ? 2 : 1;
  const size = batch * rows * (cols + pad) * step;
  const data = randomData(dtype, Math.max(1, size), seed);
  if (kind === "col") return { data, batchStride: rows * cols, rowStride: 1, colStride: rows };
  return { data, batchStride: rows * (cols + pad) * step, rowStride: (cols + pad) * step, colStride: step };
}

afterEach(() => {
  setBlasMinWork(4096);
  setConvPatchBudget();
  delete process.env.AUGERINO_WASM;
});

withBlas("gemm on the BLAS", () => {
  for (const dtype of ["float32", "float64"] as const) {
    it(`matches a float64 reference on small, odd and empty shapes, any layout, with beta 0 and 1 (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.record({
            batch: fc.integer({ min: 0, max: 3 }),
            m: fc.integer({ min: 0, max: 37 }),
            n: fc.integer({ min: 0, max: 37 }),
            k: fc.integer({ min: 0, max: 37 }),
            la: fc.constantFrom(...layouts),
            lb: fc.constantFrom(...layouts),
            beta: fc.constantFrom(0, 1),
            seed: fc.nat(),
          }),
          ({ batch, m, n, k, la, lb, beta, seed }) => {
            const a = view(dtype, batch, m, k, la, seed);
            const b = view(dtype, batch, k, n, lb, seed + 1);
            const ldc = n + 2;
            const out = randomData(dtype, Math.max(1, batch * m * ldc), seed + 2);
            const before = out.slice();
            gemmBatched(blas!, batch, m, n, k, a, b, out, 0, m * ldc, ldc, beta);
            for (let p = 0; p < batch; p++) {
              for (let i = 0; i < m; i++) {
                for (let j = 0; j < ldc; j++) {
                  const o = p * m * ldc + i * ldc + j;
                  if (j >= n) {
                    expect(out[o]).toBe(before[o]);
                    continue;
                  }
                  let s = beta * before[o];
                  let abs = Math.abs(s);
                  for (let t = 0; t < k; t++) {
                    const x = at(a, p, i, t) * at(b, p, t, j);
                    s += x;
                    abs += Math.abs(x);
                  }
                  expect(Math.abs(out[o] - s)).toBeLessThanOrEqual(2 * (k + 1) * EPS[dtype] * abs);
                }
              }
            }
          },
        ),
        { numRuns: 120 },
      );
    });
  }
});

withBlas("dot_general on the BLAS", () => {
  it("agrees with the wasm kernel and the float64 loop on random batched shapes, including tiny ones", () => {
    setBlasMinWork(0);
    fc.assert(
      fc.property(
        fc.record({
          b: fc.integer({ min: 1, max: 4 }),
          m: fc.integer({ min: 1, max: 40 }),
          n: fc.integer({ min: 1, max: 40 }),
          k: fc.integer({ min: 1, max: 40 }),
          swap: fc.boolean(),
          dtype: fc.constantFrom<Dt>("float32", "float64"),
          seed: fc.nat(),
        }),
        ({ b, m, n, k, swap, dtype, seed }) => {
          // lhs [m, b, k] or [b, k, m]; rhs [b, k, n]: permuted batch and contracting axes.
          const lShape = swap ? [b, k, m] : [m, b, k];
          const dims: DotDims = swap ? { contracting: [[1], [1]], batch: [[0], [0]] } : { contracting: [[2], [1]], batch: [[1], [0]] };
          const l = randomData(dtype, b * m * k, seed);
          const r = randomData(dtype, b * k * n, seed + 1);
          const la = { shape: lShape, dtype };
          const ra = { shape: [b, k, n], dtype };
          const got = dtype === "float32" ? new Float32Array(b * m * n) : new Float64Array(b * m * n);
          const want = new Float64Array(b * m * n);
          expect(dotGeneralBlas(l, r, got, dims, la.shape, ra.shape)).toBe(true);
          dotGeneralLoop(l, r, want, dims, la, ra);
          for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(8 * k * EPS[dtype] * 4 + 1e-300);
          if (dtype === "float32") {
            const wasm = new Float32Array(b * m * n);
            expect(dotGeneralWasm(l as Float32Array, r as Float32Array, wasm, dims, la.shape, ra.shape)).toBe(true);
            for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - wasm[i])).toBeLessThanOrEqual(16 * k * EPS.float32 * 4);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("leaves many tiny products to the wasm kernel until told otherwise", () => {
    const l = new Float32Array(64 * 4).fill(1);
    const dims: DotDims = { contracting: [[2], [1]], batch: [[0], [0]] };
    expect(dotGeneralBlas(l, l, new Float32Array(64 * 4), dims, [64, 2, 2], [64, 2, 2])).toBe(false);
    setBlasMinWork(0);
    const out = new Float32Array(64 * 4);
    expect(dotGeneralBlas(l, l, out, dims, [64, 2, 2], [64, 2, 2])).toBe(true);
    expect([...new Set(out)]).toEqual([2]);
  });

  it("np.matmul gives the same float32 and float64 products with AUGERINO_BLAS=0 as with the BLAS", () => {
    const a = np.array(randomData("float64", 70 * 50, 5)).reshape([70, 50]);
    const b = np.array(randomData("float64", 50 * 30, 6)).reshape([50, 30]);
    const run = () => [np.matmul(a, b), np.matmul(a.astype("float32"), b.astype("float32"))].map((t) => Float64Array.from(t.dataSync()));
    const on = run();
    try {
      process.env.AUGERINO_BLAS = "0";
      resetBlas();
      expect(cpuBlas()).toBeNull();
      const off = run();
      on[0].forEach((v, i) => expect(Math.abs(v - off[0][i])).toBeLessThanOrEqual(1e-12));
      on[1].forEach((v, i) => expect(Math.abs(v - off[1][i])).toBeLessThanOrEqual(50 * 4 * 4 * EPS.float32));
    } finally {
      delete process.env.AUGERINO_BLAS;
      resetBlas();
    }
    expect(cpuBlas()).not.toBeNull();
  });

  it("names a bad AUGERINO_BLAS path in the error", () => {
    try {
      process.env.AUGERINO_BLAS = "/no/such/libblas.so";
      resetBlas();
      expect(() => cpuBlas()).toThrow(/AUGERINO_BLAS=\/no\/such\/libblas\.so: .*did not load/);
    } finally {
      delete process.env.AUGERINO_BLAS;
      resetBlas();
    }
  });
});

withBlas("conv_general_dilated through GEMM on the BLAS", () => {
  const convCase = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    g: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 3 }),
    og: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    pad: fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: 0, max: 2 })),
    lhsDil: fc.integer({ min: 1, max: 2 }),
    rhsDil: fc.integer({ min: 1, max: 2 }),
    dtype: fc.constantFrom<Dt>("float32", "float64"),
    wasm: fc.boolean(),
    budget: fc.constantFrom(1, 7, 50, 1 << 22),
    seed: fc.nat(),
  });

  it("agrees with the JavaScript convolution over strides, padding, dilations, groups, dtypes, chunkings, wasm or JS im2col", () => {
    let ran = 0;
    fc.assert(
      fc.property(convCase, (c) => {
        const p: ConvParams = {
          strides: c.stride,
          padding: [
            [c.pad[0], c.pad[1]],
            [c.pad[1], c.pad[0]],
          ],
          lhsDilation: [c.lhsDil, 1],
          rhsDilation: [1, c.rhsDil],
          groups: c.g,
        };
        // Null: a window larger than the input, the shape check's business.
        const conv = convProblem([c.n, c.g * c.cg, c.h, c.w], [c.g * c.og, c.cg, c.kh, c.kw], p, c.dtype, [c.seed, c.seed + 3]);
        const geo = conv && convGeometry(p, conv.la, conv.ra, conv.oa);
        if (!conv || !geo) return;
        ran++;
        const got = conv.output();
        process.env.AUGERINO_WASM = c.wasm ? "1" : "0";
        setConvPatchBudget(c.budget);
        expect(convBlas(conv.x, conv.w, got, geo)).toBe(true);
        const k = c.cg * c.kh * c.kw;
        got.forEach((v, i) => expect(Math.abs(v - conv.want[i])).toBeLessThanOrEqual(8 * k * EPS[c.dtype] * 4 + 1e-300));
      }),
      { numRuns: 200 },
    );
    expect(ran).toBeGreaterThan(80);
  });

  it("cuts the longer side of the product: images for a forward pass, channels for a kernel gradient", () => {
    const geo = (N: number, C: number, H: number, KH: number, Ho: number) => ({ N, Cg: C, KH, KW: KH, K: C * KH * KH, S: Ho * Ho }) as Parameters<typeof convChunks>[0];
    // smallConv's second layer: 256 images of 32 x 28 x 28, 3 x 3 taps.
    expect(convChunks(geo(256, 32, 28, 3, 28), 1 << 22)).toEqual({ images: 18, channels: 32 });
    // Its kernel gradient: 32 "images" (input channels) of 256 "channels" (the batch), 28 x 28 taps, 3 x 3 outputs.
    expect(convChunks(geo(32, 256, 30, 28, 3), 1 << 22)).toEqual({ images: 32, channels: 18 });
    // The default budget keeps a chunk near the L2 caches: two such images, or two images' worth of the batch.
    expect(convChunks(geo(256, 32, 28, 3, 28))).toEqual({ images: 2, channels: 32 });
    expect(convChunks(geo(32, 256, 30, 28, 3))).toEqual({ images: 32, channels: 2 });
  });

  it("gives wide images a product each, and cuts one image's im2col into blocks of channels per thread, as the JavaScript convolution computes", () => {
    // 17 x 17 outputs (289 pixels): each image of a chunk gets its own product, written in place.
    const p = convParams(1, {
      padding: [
        [1, 1],
        [1, 0],
      ],
    });
    const threads = cpuThreads();
    try {
      for (const [n, c, o] of [
        [3, 6, 5],
        [2, 7, 3],
        [1, 12, 4],
      ]) {
        const { la, ra, oa, x, w, want, output } = convProblem([n, c, 17, 18], [o, c, 3, 3], p, "float32", [60 + n, 70 + n])!;
        expect(oa.shape).toEqual([n, o, 17, 17]);
        const K = c * 9;
        // One image per chunk (its im2col cut into blocks when the threads divide the channels), two, all, and channel chunks.
        for (const budget of [K * 289, 2 * K * 289, 1 << 22, 4 * 9 * 289])
          for (const t of [1, 2, 3]) {
            setCpuThreads(t);
            setConvPatchBudget(budget);
            const got = output();
            expect(convBlas(x, w, got, convGeometry(p, la, ra, oa)!)).toBe(true);
            let worst = 0;
            got.forEach((v, i) => (worst = Math.max(worst, Number.isNaN(v) ? Infinity : Math.abs(v - want[i]))));
            expect(worst, `n=${n} c=${c} budget=${budget} threads=${t}`).toBeLessThanOrEqual(8 * K * EPS.float32 * 4);
          }
      }
    } finally {
      setCpuThreads(threads);
    }
  });

  it("runs a kernel-gradient-shaped convolution (window larger than the output) in channel chunks, matching the JavaScript convolution", () => {
    // The kernel gradient of a 3x3 SAME conv on 5 images of 6 x 14 x 14: lhs [Cin, N, H, W], rhs [Cout, N, Ho, Wo], output 3 x 3.
    const p = convParams(1);
    const { la, ra, oa, x, w, want, output } = convProblem([6, 5, 14, 14], [4, 5, 14, 14], p, "float32", [31, 32])!;
    expect(oa.shape).toEqual([6, 4, 3, 3]);
    for (const budget of [1 << 22, 2000]) {
      setConvPatchBudget(budget);
      const got = output();
      expect(convBlas(x, w, got, convGeometry(p, la, ra, oa)!)).toBe(true);
      got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(8 * 980 * EPS.float32 * 4));
    }
  });

  it("computes few output channels from many input channels (product, then a sum over taps) as the JavaScript convolution does", () => {
    const cases: ConvParams[] = [
      convParams(1),
      convParams(0, {
        strides: [2, 1],
        padding: [
          [0, 2],
          [-1, 1],
        ],
        rhsDilation: [1, 2],
      }),
      convParams(0, {
        strides: [1, 2],
        padding: [
          [2, 2],
          [1, 0],
        ],
        lhsDilation: [2, 1],
      }),
    ];
    for (const dtype of ["float32", "float64"] as const) {
      for (const [i, p] of cases.entries()) {
        const { la, ra, oa, x, w, want, output } = convProblem([3, 16, 7, 6], [2, 16, 3, 3], p, dtype, [40 + i, 50 + i])!;
        const got = output();
        expect(convBlas(x, w, got, convGeometry(p, la, ra, oa)!)).toBe(true);
        got.forEach((v, j) => expect(Math.abs(v - want[j]), `${dtype} case ${i} at ${j}`).toBeLessThanOrEqual(8 * 144 * EPS[dtype] * 4));
      }
    }
  });

  it("gives finite-difference gradients of a float64 convolution in the input and the kernel", () => {
    const x = np.array(randomData("float64", 2 * 3 * 6 * 5, 21)).reshape([2, 3, 6, 5]);
    const w = np.array(randomData("float64", 4 * 3 * 3 * 2, 22)).reshape([4, 3, 3, 2]);
    const g = np.array(randomData("float64", 2 * 4 * 3 * 3, 23)).reshape([2, 4, 3, 3]);
    const f = (x: Tracer, w: Tracer) =>
      np.sum(
        lax
          .conv(x, w, {
            strides: [2, 2],
            padding: [
              [1, 1],
              [1, 0],
            ],
          })
          .mul(g),
      );
    const [dx, dw] = (grad(f, { argnums: [0, 1] })(x, w) as Tracer[]).map((t) => t.dataSync());
    const h = 1e-6;
    for (const [which, base, got] of [
      [0, x, dx],
      [1, w, dw],
    ] as const) {
      const data = Float64Array.from(base.dataSync());
      for (let i = 0; i < data.length; i += 7) {
        const shifted = (d: number) => {
          const v = data.slice();
          v[i] += d;
          const t = np.array(v).reshape(base.shape);
          return (which === 0 ? f(t, w) : f(x, t)).item() as number;
        };
        expect(Math.abs((shifted(h) - shifted(-h)) / (2 * h) - got[i])).toBeLessThanOrEqual(1e-6);
      }
    }
  });
});

/** The WebAssembly SIMD matmul: emitter, kernel vs a float64 reference, threads, dot_general, exit. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { convParams, convProblem, expectNumbersClose, lcgData } from "../../helpers.ts";
import { ModuleBuilder, sleb, uleb } from "../../../core/backends/cpu/wasm/emit.ts";
import { sgemmModule } from "../../../core/backends/cpu/wasm/matmul.ts";
import { sgemmBatched, type MatrixView } from "../../../core/backends/cpu/wasm/gemm.ts";
import { cpuThreads, setCpuThreads, startWorkers, workerBlockCount } from "../../../core/backends/cpu/wasm/pool.ts";
import { webAssembly } from "../../../core/backends/cpu/wasm/webassembly.ts";
import { dotGeneralLoop, dotGeneralWasm } from "../../../core/backends/cpu/routines/dot.ts";
import type { DotDims } from "../../../core/routines.ts";
import type { ConvParams } from "../../../core/primitives/conv.ts";
import { convWasm } from "../../../core/backends/cpu/routines/conv.ts";

const EPS32 = 2 ** -23;

/** Float64 reference of a batched product and a float32 error bound per element (sum of |a||b| times K eps). */
function reference(batch: number, m: number, n: number, k: number, a: MatrixView, b: MatrixView): { c: Float64Array; bound: Float64Array } {
  const c = new Float64Array(batch * m * n);
  const bound = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let abs = 0;
        for (let t = 0; t < k; t++) {
          const x = a.data[p * a.batchStride + i * a.rowStride + t * a.colStride] * b.data[p * b.batchStride + t * b.rowStride + j * b.colStride];
          s += x;
          abs += Math.abs(x);
        }
        c[(p * m + i) * n + j] = s;
        bound[(p * m + i) * n + j] = 2 * k * EPS32 * abs + 1e-30;
      }
    }
  }
  return { c, bound };
}

const randomData = (length: number, seed: number) => lcgData("float32", length, seed);

/** A [batch, rows, cols] view, stored row-major or transposed (cols, rows) per matrix. */
function view(batch: number, rows: number, cols: number, transposed: boolean, seed: number): MatrixView {
  const data = randomData(batch * rows * cols, seed);
  return transposed ? { data, batchStride: rows * cols, rowStride: 1, colStride: rows } : { data, batchStride: rows * cols, rowStride: cols, colStride: 1 };
}

/** The product within the reference's per-element rounding bound. */
const expectWithinBound = (got: Float32Array, want: { c: Float64Array; bound: Float64Array }) => expectNumbersClose(got, want.c, 0, "sgemm", want.bound);

describe("wasm emitter", () => {
  it("LEB128 encodings decode back", () => {
    const decode = (bytes: number[], signed: boolean) => {
      let result = 0n;
      let shift = 0n;
      for (const b of bytes) {
        result |= BigInt(b & 0x7f) << shift;
        shift += 7n;
      }
      return Number(signed ? BigInt.asIntN(Number(shift), result) : result);
    };
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => decode(uleb(n), false) === n));
    fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (n) => decode(sleb(n), true) === n));
  });

  it("builds modules the engine validates and runs", () => {
    expect(webAssembly.validate(sgemmModule().bytes)).toBe(true);
    const m = new ModuleBuilder({ minPages: 1, maxPages: 2 });
    m.fn("muladd", ["i32", "i32", "i32"], ["i32"]).get(0).get(1).op("i32.mul").get(2).op("i32.add");
    const memory = new webAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    const inst = new webAssembly.Instance(new webAssembly.Module(m.bytes()), { env: { memory } });
    expect((inst.exports.muladd as (a: number, b: number, c: number) => number)(6, 7, -4)).toBe(38);
  });
});

describe("sgemm with relaxed SIMD's multiply-add", () => {
  it("matches a float64 reference in an engine that has it (a child Node with --experimental-wasm-relaxed-simd)", () => {
    const module = (path: string) => JSON.stringify(fileURLToPath(new URL(path, import.meta.url)));
    const script = `
      const { hasRelaxedSimd } = await import(${module("../../../core/backends/cpu/wasm/matmul.ts")});
      const { sgemmBatched } = await import(${module("../../../core/backends/cpu/wasm/gemm.ts")});
      let s = 12345;
      const rand = (n) => Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 2);
      let worst = 0;
      for (const [batch, m, n, k] of [[1, 1, 1, 1], [2, 3, 5, 7], [1, 37, 41, 9], [3, 17, 8, 70], [1, 130, 67, 1100]]) {
        const a = rand(batch * m * k), b = rand(batch * k * n), c = new Float32Array(batch * m * n);
        if (!sgemmBatched(batch, m, n, k, { data: a, batchStride: m * k, rowStride: k, colStride: 1 }, { data: b, batchStride: k * n, rowStride: n, colStride: 1 }, c)) throw new Error("no wasm");
        for (let p = 0; p < batch; p++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let sum = 0, abs = 0;
          for (let q = 0; q < k; q++) { const t = a[(p * m + i) * k + q] * b[(p * k + q) * n + j]; sum += t; abs += Math.abs(t); }
          worst = Math.max(worst, Math.abs(c[(p * m + i) * n + j] - sum) / (2 * k * 2 ** -23 * abs + 1e-30));
        }
      }
      console.log(JSON.stringify({ relaxed: hasRelaxedSimd(), worst }));
    `;
    const child = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    expect(child.status, child.stderr).toBe(0);
    const { relaxed, worst } = JSON.parse(child.stdout.trim().split("\n").pop()!);
    expect(relaxed).toBe(true);
    // Each result within the float32 rounding bound of the float64 product (worst <= 1).
    expect(worst).toBeLessThanOrEqual(1);
  });
});

describe("sgemm", () => {
  const saved = cpuThreads();
  beforeAll(async () => {
    setCpuThreads(2);
    // With two threads one worker must come up, so that the 2-thread cases below use it.
    expect(await startWorkers()).toBe(1);
  });
  afterAll(() => setCpuThreads(saved));

  for (const threads of [1, 2]) {
    it(`matches a float64 reference for M, N, K in 1..70, strided and batched (${threads} thread${threads > 1 ? "s" : ""})`, () => {
      setCpuThreads(threads);
      const dims = fc.integer({ min: 1, max: 70 });
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 3 }), dims, dims, dims, fc.boolean(), fc.boolean(), fc.nat(), (batch, m, n, k, ta, tb, seed) => {
          const a = view(batch, m, k, ta, seed);
          const b = view(batch, k, n, tb, seed + 1);
          const out = new Float32Array(batch * m * n);
          expect(sgemmBatched(batch, m, n, k, a, b, out)).toBe(true);
          expectWithinBound(out, reference(batch, m, n, k, a, b));
        }),
        { numRuns: 60 },
      );
    });

    it(`matches the reference on large shapes that span K blocks and threads (${threads})`, () => {
      setCpuThreads(threads);
      const helpedBefore = workerBlockCount();
      for (const [batch, m, n, k] of [
        [1, 257, 129, 300],
        [2, 130, 67, 1100],
        [1, 3, 700, 513],
      ]) {
        const a = view(batch, m, k, false, m);
        const b = view(batch, k, n, false, n);
        const out = new Float32Array(batch * m * n);
        sgemmBatched(batch, m, n, k, a, b, out);
        expectWithinBound(out, reference(batch, m, n, k, a, b));
      }
      // The worker takes part in two threads, never in one. It claims blocks while this thread runs
      // its own, so on a loaded machine a few more jobs may pass before it gets one.
      if (threads === 1) expect(workerBlockCount()).toBe(helpedBefore);
      else {
        const a = view(1, 256, 256, false, 5);
        const out = new Float32Array(256 * 256);
        for (let i = 0; i < 50 && workerBlockCount() === helpedBefore; i++) sgemmBatched(1, 256, 256, 256, a, a, out);
        expect(workerBlockCount()).toBeGreaterThan(helpedBefore);
      }
    });
  }

  it("keeps working when a job grows the shared memory under live workers", () => {
    setCpuThreads(2);
    for (const size of [96, 900]) {
      const a = view(1, size, size, false, 3);
      const b = view(1, size, 40, false, 4);
      const out = new Float32Array(size * 40);
      sgemmBatched(1, size, 40, size, a, b, out);
      expectWithinBound(out, reference(1, size, 40, size, a, b));
    }
  });

  it("gives zeros for K = 0 and nothing for empty outputs", () => {
    const out = new Float32Array(6).fill(7);
    sgemmBatched(1, 2, 3, 0, view(1, 2, 0, false, 1), view(1, 0, 3, false, 2), out);
    expect([...out]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(sgemmBatched(1, 0, 3, 4, view(1, 0, 4, false, 1), view(1, 4, 3, false, 2), new Float32Array(0))).toBe(true);
  });
});

describe("dot_general on the wasm kernel", () => {
  it("agrees with the JavaScript loop for permuted operands and multi-axis groups", () => {
    const size = fc.integer({ min: 1, max: 6 });
    fc.assert(
      fc.property(size, size, size, size, size, size, fc.boolean(), fc.nat(), fc.nat(), fc.nat(), (b, m1, m2, k1, k2, n, twoK, seed, pl, pr) => {
        // lhs logical axes [b, m1, m2, k1, (k2)], rhs [b, k1, (k2), n], each stored in a random axis order.
        const lLogical = twoK ? [b, m1, m2, k1, k2] : [b, m1, m2, k1];
        const rLogical = twoK ? [b, k1, k2, n] : [b, k1, n];
        const lOrder = shuffle(lLogical.length, pl);
        const rOrder = shuffle(rLogical.length, pr);
        const where = (order: number[], logical: number) => order.indexOf(logical);
        const lShape = lOrder.map((a) => lLogical[a]);
        const rShape = rOrder.map((a) => rLogical[a]);
        const lc = twoK ? [3, 4] : [3];
        const rc = twoK ? [1, 2] : [1];
        const dims: DotDims = { contracting: [lc.map((a) => where(lOrder, a)), rc.map((a) => where(rOrder, a))], batch: [[where(lOrder, 0)], [where(rOrder, 0)]] };
        const l = randomData(
          lShape.reduce((x, y) => x * y, 1),
          seed,
        );
        const r = randomData(
          rShape.reduce((x, y) => x * y, 1),
          seed + 7,
        );
        const outSize = b * m1 * m2 * n;
        const got = new Float32Array(outSize);
        const want = new Float32Array(outSize);
        expect(dotGeneralWasm(l, r, got, dims, lShape, rShape)).toBe(true);
        dotGeneralLoop(l, r, want, dims, { shape: lShape, dtype: "float32" }, { shape: rShape, dtype: "float32" });
        const k = twoK ? k1 * k2 : k1;
        for (let i = 0; i < outSize; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(8 * k * EPS32 * (Math.abs(want[i]) + 4 * k) + 1e-30);
      }),
      { numRuns: 80 },
    );
  });
});

describe("conv_general_dilated on the wasm kernel", () => {
  it("agrees with the JavaScript loop over strides, padding, dilations and groups", () => {
    const small = (min: number, max: number) => fc.integer({ min, max });
    const arb = fc.record({
      n: small(1, 3),
      g: small(1, 2),
      cg: small(1, 3),
      og: small(1, 5),
      h: small(1, 9),
      w: small(1, 9),
      kh: small(1, 3),
      kw: small(1, 3),
      strides: fc.tuple(small(1, 2), small(1, 2)),
      lhsDilation: fc.tuple(small(1, 2), small(1, 2)),
      rhsDilation: fc.tuple(small(1, 2), small(1, 2)),
      padding: fc.tuple(fc.tuple(small(-1, 2), small(-1, 2)), fc.tuple(small(-1, 2), small(-1, 2))),
      seed: fc.nat(),
    });
    let ran = 0;
    fc.assert(
      fc.property(arb, (c) => {
        const p: ConvParams = { strides: c.strides, padding: c.padding, lhsDilation: c.lhsDilation, rhsDilation: c.rhsDilation, groups: c.g };
        const conv = convProblem([c.n, c.g * c.cg, c.h, c.w], [c.g * c.og, c.cg, c.kh, c.kw], p, "float32", [c.seed, c.seed + 3]);
        if (!conv) return; // a window larger than the padded input: not a convolution
        ran++;
        const got = conv.output();
        expect(convWasm(conv.x, conv.w, got, p, conv.la, conv.ra, conv.oa)).toBe(true);
        const k = c.cg * c.kh * c.kw;
        got.forEach((v, i) => expect(Math.abs(v - conv.want[i])).toBeLessThanOrEqual(8 * k * EPS32 * 4 * k + 1e-30));
      }),
      { numRuns: 150 },
    );
    expect(ran).toBeGreaterThan(50);
  });

  it("agrees with the JavaScript loop when the images do not fit in one product (uneven chunks, two groups)", () => {
    // 144 x 10000 patch floats per image: two images per product, then one.
    const p = convParams(1, { groups: 2 });
    const { la, ra, oa, x, w, want, output } = convProblem([3, 32, 100, 100], [10, 16, 3, 3], p, "float32", [11, 12])!;
    const got = output();
    expect(convWasm(x, w, got, p, la, ra, oa)).toBe(true);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst).toBeLessThanOrEqual(8 * 144 * EPS32 * 4 * 144);
  });
});

/** A permutation of 0..n-1 chosen by `pick`. */
function shuffle(n: number, pick: number): number[] {
  const rest = [...Array(n).keys()];
  const out: number[] = [];
  while (rest.length > 0) {
    out.push(rest.splice(pick % rest.length, 1)[0]);
    pick = Math.floor(pick / 7) + 3;
  }
  return out;
}

describe("wasm worker pool", () => {
  it("lets a process that used two threads exit by itself", () => {
    const gemm = fileURLToPath(new URL("../../../core/backends/cpu/wasm/gemm.ts", import.meta.url));
    const pool = fileURLToPath(new URL("../../../core/backends/cpu/wasm/pool.ts", import.meta.url));
    const script = `
      const { sgemmBatched, rowMajor } = await import(${JSON.stringify(gemm)});
      const { setCpuThreads, startWorkers } = await import(${JSON.stringify(pool)});
      setCpuThreads(2);
      const ready = await startWorkers();
      const n = 200, a = new Float32Array(n * n).fill(1), out = new Float32Array(n * n);
      sgemmBatched(1, n, n, n, rowMajor(a, n, n), rowMajor(a, n, n), out);
      console.log(JSON.stringify({ ready, value: out[123] }));
    `;
    const started = performance.now();
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
    const seconds = (performance.now() - started) / 1000;
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim().split("\n").pop()!)).toEqual({ ready: 1, value: 200 });
    // Startup under tsx takes about a second; a worker holding the process open would hit the 20 s timeout.
    expect(seconds).toBeLessThan(15);
  });
});

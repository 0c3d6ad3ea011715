/**
 * float32 convolutions on oneDNN (libdnnl): forward passes and the kernel-gradient pattern
 * against the float64 JavaScript convolution on random shapes, gradients of a conv against
 * float64 gradients (the BLAS / loop path), and AUGERINO_DNNL=0 / a bad AUGERINO_DNNL in a
 * child process. Without libdnnl these tests are skipped with the reason; CI installs it
 * (Debian's libdnnl2) and sets AUGERINO_REQUIRE_DNNL=1, which makes that a failure.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { cpuDnnl, dnnlMissing } from "../../../core/backends/cpu/dnnl/library.ts";
import { convDnnl, dnnlConvRuns } from "../../../core/backends/cpu/dnnl/conv.ts";
import type { ConvParams } from "../../../core/primitives/conv.ts";
import { convParams, convProblem, lcgData } from "../../helpers.ts";
import { grad, lax, np, type Tracer } from "../../../index.ts";
import { cpuThreads, setCpuThreads } from "../../../core/backends/cpu/wasm/pool.ts";
import { sizeOf } from "../../../core/shape.ts";

const dnnl = cpuDnnl();
if (!dnnl && process.env.AUGERINO_REQUIRE_DNNL === "1") throw new Error(`AUGERINO_REQUIRE_DNNL=1 but oneDNN did not load: ${dnnlMissing()}`);
if (!dnnl) console.log(`[dnnl] tests skipped: ${dnnlMissing()} (Debian: apt install libdnnl2)`);
const withDnnl = describe.skipIf(!dnnl);
const EPS32 = 2 ** -23;

/** Worst |got - want| over the output, NaN (an element never written) as Infinity. */
const worst = (got: Float32Array, want: Float64Array) => got.reduce((m, v, i) => Math.max(m, Number.isNaN(v) ? Infinity : Math.abs(v - want[i])), 0);

withDnnl("conv_general_dilated on oneDNN", () => {
  const convCase = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    g: fc.integer({ min: 1, max: 3 }),
    cg: fc.integer({ min: 1, max: 5 }),
    og: fc.integer({ min: 1, max: 5 }),
    h: fc.integer({ min: 1, max: 11 }),
    w: fc.integer({ min: 1, max: 11 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    pad: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    rhsDil: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    seed: fc.nat(),
  });

  it("computes forward convolutions over strides, padding, rhs dilation and groups as the float64 convolution does", () => {
    let ran = 0;
    const before = dnnlConvRuns.forward;
    fc.assert(
      fc.property(convCase, (c) => {
        const p: ConvParams = {
          strides: c.stride,
          padding: [
            [c.pad[0], c.pad[1]],
            [c.pad[2], c.pad[3]],
          ],
          lhsDilation: [1, 1],
          rhsDilation: c.rhsDil,
          groups: c.g,
        };
        const conv = convProblem([c.n, c.g * c.cg, c.h, c.w], [c.g * c.og, c.cg, c.kh, c.kw], p, "float32", [c.seed, c.seed + 7]);
        if (!conv) return;
        const got = conv.output();
        const taken = convDnnl(conv.x, conv.w, got, p, conv.la.shape, conv.ra.shape, conv.oa.shape);
        // Every case is oneDNN's but a grouped one whose window is larger than its output (a grouped kernel gradient's shape).
        expect(taken).toBe(!(c.g > 1 && c.kh * c.kw > conv.oa.shape[2] * conv.oa.shape[3]));
        if (!taken) return;
        ran++;
        expect(worst(got, conv.want)).toBeLessThanOrEqual(8 * c.cg * c.kh * c.kw * EPS32 * 4);
      }),
      { numRuns: 120 },
    );
    expect(ran).toBeGreaterThan(60);
    expect(dnnlConvRuns.forward - before).toBeGreaterThan(30);
  });

  it("runs the kernel-gradient pattern (window larger than the output) as oneDNN's backward-weights pass", () => {
    // The kernel gradient of a forward conv with stride s, dilation d, padding lo: lhs [C, N, H, W], rhs [O, N, Ho, Wo].
    fc.assert(
      fc.property(
        fc.record({
          c: fc.integer({ min: 1, max: 4 }),
          n: fc.integer({ min: 1, max: 3 }),
          o: fc.integer({ min: 1, max: 4 }),
          h: fc.integer({ min: 5, max: 12 }),
          k: fc.integer({ min: 1, max: 3 }),
          s: fc.integer({ min: 1, max: 2 }),
          d: fc.integer({ min: 1, max: 2 }),
          lo: fc.integer({ min: 0, max: 1 }),
          seed: fc.nat(),
        }),
        ({ c, n, o, h, k, s, d, lo, seed }) => {
          const ho = Math.floor((h + 2 * lo - (d * (k - 1) + 1)) / s) + 1;
          if (ho * ho <= k * k) return;
          const p = convParams(0, {
            strides: [d, d],
            rhsDilation: [s, s],
            padding: [
              [lo, (ho - 1) * s + (k - 1) * d + 1 - h - lo],
              [lo, (ho - 1) * s + (k - 1) * d + 1 - h - lo],
            ],
          });
          const conv = convProblem([c, n, h, h], [o, n, ho, ho], p, "float32", [seed, seed + 1]);
          expect(conv?.oa.shape).toEqual([c, o, k, k]);
          const before = dnnlConvRuns.kernelGradient;
          const got = conv!.output();
          expect(convDnnl(conv!.x, conv!.w, got, p, conv!.la.shape, conv!.ra.shape, conv!.oa.shape)).toBe(true);
          expect(dnnlConvRuns.kernelGradient).toBe(before + 1);
          expect(worst(got, conv!.want)).toBeLessThanOrEqual(8 * n * ho * ho * EPS32 * 4);
          // The same operands held unswapped (conv_swapped_operands: the forward input and the cotangent as they are) give the same bits.
          const swap = (a: Float32Array, [A, B, H, W]: number[]) =>
            Float32Array.from(a, (_, i) => a[(((i % (A * H * W)) / (H * W)) | 0) * B * H * W + Math.floor(i / (A * H * W)) * H * W + (i % (H * W))]);
          const unswapped = conv!.output();
          expect(convDnnl(swap(conv!.x, conv!.la.shape), swap(conv!.w, conv!.ra.shape), unswapped, p, conv!.la.shape, conv!.ra.shape, conv!.oa.shape, true)).toBe(true);
          expect(Array.from(unswapped)).toEqual(Array.from(got));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("sizes oneDNN's OpenMP team by the pool's thread setting", () => {
    const threads = cpuThreads();
    const p = convParams(1);
    const conv = convProblem([2, 3, 6, 6], [4, 3, 3, 3], p, "float32", [3, 4])!;
    try {
      for (const t of [1, 3, 2]) {
        setCpuThreads(t);
        expect(convDnnl(conv.x, conv.w, conv.output(), p, conv.la.shape, conv.ra.shape, conv.oa.shape)).toBe(true);
        expect(dnnl!.threads()).toBe(t);
      }
    } finally {
      setCpuThreads(threads);
    }
  });

  it("leaves input-dilated convolutions (input gradients of strided convs) to the BLAS path", () => {
    const p = convParams(1, { lhsDilation: [2, 2] });
    const conv = convProblem([2, 3, 5, 5], [4, 3, 3, 3], p, "float32", [5, 6])!;
    expect(convDnnl(conv.x, conv.w, conv.output(), p, conv.la.shape, conv.ra.shape, conv.oa.shape)).toBe(false);
  });

  it("gives the float64 gradients of strided, dilated, grouped convolutions through grad", () => {
    const cases: { x: number[]; w: number[]; opts: Parameters<typeof lax.conv>[2] }[] = [
      { x: [3, 4, 9, 8], w: [5, 4, 3, 3], opts: { padding: "SAME" } },
      { x: [2, 6, 11, 10], w: [4, 3, 3, 2], opts: { padding: "VALID", strides: [2, 1], groups: 2 } },
      {
        x: [2, 3, 12, 12],
        w: [2, 3, 3, 3],
        opts: {
          padding: [
            [2, 1],
            [1, 2],
          ],
          dilation: [2, 2],
        },
      },
      { x: [1, 1, 3, 3], w: [1, 1, 1, 1], opts: { padding: "VALID" } },
    ];
    for (const [i, { x: xs, w: ws, opts }] of cases.entries()) {
      const seeded = (shape: number[], seed: number) => np.array(lcgData("float64", sizeOf(shape), seed)).reshape(shape);
      const [x64, w64] = [seeded(xs, 80 + i), seeded(ws, 90 + i)];
      const loss = (x: Tracer, w: Tracer) => np.sum(np.sin(lax.conv(x, w, opts)));
      const before = { ...dnnlConvRuns };
      const g32 = grad(loss, { argnums: [0, 1] })(x64.astype("float32"), w64.astype("float32")) as Tracer[];
      const got = g32.map((g) => Array.from(g.dataSync()));
      expect(dnnlConvRuns.forward, `case ${i}`).toBeGreaterThan(before.forward);
      const want = (grad(loss, { argnums: [0, 1] })(x64, w64) as Tracer[]).map((g) => Array.from(g.dataSync()));
      for (let j = 0; j < 2; j++) {
        const scale = Math.max(1, ...want[j].map(Math.abs));
        got[j].forEach((v, k) => expect(Math.abs(v - want[j][k]), `case ${i} grad ${j} at ${k}`).toBeLessThanOrEqual(1e-4 * scale));
      }
    }
    // The SAME case's kernel gradient (window 9 x 8 over a 3 x 3 output) ran as backward weights.
    expect(dnnlConvRuns.kernelGradient).toBeGreaterThan(0);
  });
});

/** Runs a conv forward and kernel gradient in a child process with `env`; its JSON report, or its stderr. */
function child(env: Record<string, string>) {
  const code = `
    const { lax, np, grad } = await import(${JSON.stringify(new URL("../../../index.ts", import.meta.url).pathname)});
    const lib = await import(${JSON.stringify(new URL("../../../core/backends/cpu/dnnl/library.ts", import.meta.url).pathname)});
    const { dnnlConvRuns } = await import(${JSON.stringify(new URL("../../../core/backends/cpu/dnnl/conv.ts", import.meta.url).pathname)});
    const x = np.arange(2 * 3 * 7 * 7).reshape([2, 3, 7, 7]).mul(0.05).sin();
    const w = np.arange(4 * 3 * 3 * 3).reshape([4, 3, 3, 3]).mul(0.07).cos();
    const y = lax.conv(x, w, { padding: "SAME" });
    const gw = grad((w) => np.sum(lax.conv(x, w, { padding: "SAME" }).mul(y)))(w);
    console.log(JSON.stringify({ loaded: lib.cpuDnnl() !== null, runs: dnnlConvRuns, y: Array.from(y.dataSync()), gw: Array.from(gw.dataSync()) }));
  `;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
  if (r.status !== 0) return { error: `status ${r.status} signal ${r.signal}: ${r.stderr}${r.stdout}` };
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { loaded: boolean; runs: typeof dnnlConvRuns; y: number[]; gw: number[] };
}

withDnnl("AUGERINO_DNNL", () => {
  it("=0 leaves every convolution on the BLAS path, with the values oneDNN gives", () => {
    const on = child({});
    const off = child({ AUGERINO_DNNL: "0" });
    if ("error" in on || "error" in off) throw new Error(`child failed: ${"error" in on ? on.error : ""}${"error" in off ? off.error : ""}`);
    expect(on.loaded).toBe(true);
    expect(on.runs.forward).toBeGreaterThan(0);
    expect(on.runs.kernelGradient).toBeGreaterThan(0);
    expect(off).toMatchObject({ loaded: false, runs: { forward: 0, kernelGradient: 0 } });
    for (const k of ["y", "gw"] as const) {
      const scale = Math.max(...on[k].map(Math.abs));
      off[k].forEach((v, i) => expect(Math.abs(v - on[k][i])).toBeLessThanOrEqual(1e-5 * scale));
    }
  }, 240_000);

  it("keeps the library mapped until exit: a process whose OpenMP threads spin exits cleanly", () => {
    // Without the RTLD_NODELETE pin, koffi's unload at teardown left spinning threads in unmapped code: SIGSEGV on every exit.
    const r = child({ OMP_WAIT_POLICY: "active" });
    expect("error" in r ? r.error : "").toBe("");
    expect(r).toMatchObject({ loaded: true });
  }, 120_000);

  it("=path that does not load is an error naming it", () => {
    const r = child({ AUGERINO_DNNL: "/no/such/libdnnl.so.2" });
    expect("error" in r && r.error).toMatch(/AUGERINO_DNNL=\/no\/such\/libdnnl\.so\.2: .*did not load/);
  }, 120_000);
});

/**
 * Arrays bound as several windows of one buffer (core/backends/webgpu/windows.ts) give the
 * same results as whole bindings. The real window is the adapter's binding limit (128 MiB
 * on lavapipe; large-arrays.test.ts runs arrays that size); here the backend's window
 * shrinks to a few elements, so every primitive case of tests/cases, each product and
 * convolution kernel, and fused jit chains run with their largest arrays split, cheaply.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { getBackend, grad, jit, np } from "../../../index.ts";
import { NDArray } from "../../../core/array.ts";
import { gpuStats, hasWebGpuRoutine, type WebGpuBackend } from "../../../core/backends/webgpu/index.ts";
import { dotProgram, productStrategies } from "../../../core/backends/webgpu/kernels/dot.ts";
import { convProgram } from "../../../core/backends/webgpu/kernels/conv.ts";
import { windowedPass, windowedWgsl } from "../../../core/backends/webgpu/windows.ts";
import { isFloat } from "../../../core/dtype.ts";
import type { Params } from "../../../core/primitive.ts";
import type { ConvParams, RoutineParams } from "../../../core/routines.ts";
import { sizeOf } from "../../../core/shape.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { Rng, type PrimCase } from "../../cases/types.ts";
import { applyPrim, makeCase } from "../../transforms/harness.ts";
import { compareValues, gpuSkipReason, onGpu } from "./gpu.ts";
import { runOnGpu } from "./run-program.ts";
import { getPrimitive } from "../../../core/primitive.ts";
import { eagerKernel, runsAsKernel } from "../../../core/compiler/eager.ts";
import { renderWgsl } from "../../../core/backends/webgpu/render-wgsl.ts";

/** Whether a primitive runs on the device: as a kernel of the IR, or as a routine with a program here. */
const onDevice = (name: string) => runsAsKernel(getPrimitive(name)) || hasWebGpuRoutine(name);

const RUNS = 2;
const TOL = 2e-4;

const casesDir = new URL("../../cases/", import.meta.url);
const cases: (PrimCase & { name: string })[] = [];
for (const file of readdirSync(casesDir)
  .filter((f) => f.endsWith(".ts") && f !== "types.ts")
  .sort()) {
  const mod = (await import(new URL(file, casesDir).href)) as { cases: PrimCase[] };
  mod.cases.forEach((c, index) => cases.push({ ...c, name: `${c.prim} (${file} #${index})` }));
}

const backend = () => getBackend("webgpu") as unknown as WebGpuBackend;
/** Windows start at multiples of this, so arrays up to this size are never split. */
const alignment = () => backend().device.limits.minStorageBufferOffsetAlignment;
const bytesOf = (xs: readonly Tracer[]) => Math.max(...xs.map((x) => 4 * sizeOf(x.shape)));

/**
 * Runs `run` with windows of half of `bytes` (rounded up to the offset alignment), so arrays
 * of that size take two; where a kernel's scratch would then need more bindings than the
 * device has, the window doubles. Returns `run`'s result, whether it dispatched any kernel and
 * whether any dispatch was windowed.
 */
async function windowed<T>(bytes: number, run: () => Promise<T>): Promise<{ result: T; dispatched: boolean; split: boolean }> {
  const be = backend();
  const real = be.windows;
  const align = alignment();
  for (let w = Math.max(align, Math.ceil(bytes / 2 / align) * align); ; w *= 2) {
    be.windows = { ...real, windowBytes: w };
    const before = { ...gpuStats };
    try {
      const result = await run();
      return { result, dispatched: gpuStats.dispatches > before.dispatches, split: gpuStats.windowedDispatches > before.windowedDispatches };
    } catch (e) {
      if (!/per shader stage/.test((e as Error).message) || w >= real.windowBytes) throw e;
    } finally {
      be.windows = real;
    }
  }
}

async function expectSame(got: Tracer[], want: Tracer[], tol: number, what: string): Promise<void> {
  expect(got.length, what).toBe(want.length);
  for (let k = 0; k < want.length; k++) {
    const msg = compareValues(await (got[k] as NDArray).data(), (want[k] as NDArray).dataSync(), isFloat(want[k].dtype), tol);
    if (msg) expect.fail(`${what}: output ${k}: ${msg}`);
  }
}

/** A case's inputs, float64 made float32 (WGSL has no f64). */
function draw(c: PrimCase, seed: number) {
  const { args, params } = makeCase(c, seed);
  return { args: args.map((a) => (a.dtype === "float64" ? (np.astype(a, "float32") as NDArray) : a)), params };
}

const seeds = () => fc.sample(fc.integer({ min: 1, max: 0x7fffffff }), RUNS);

describe.skipIf(gpuSkipReason !== null)("webgpu kernels over arrays bound as several windows", () => {
  for (const c of cases.filter((k) => onDevice(k.prim))) {
    const tol = (c as { gpuTol?: number }).gpuTol ?? TOL;
    const f =
      (params: Params) =>
      (...xs: Tracer[]) =>
        applyPrim(c.prim, xs, params);

    it(`${c.name}: eager and grad with windowed bindings = the CPU`, async () => {
      for (const seed of seeds()) {
        const { args, params } = draw(c, seed);
        const want = f(params)(...args);
        if (want.some((o) => o.dtype === "float64")) continue;
        const bytes = bytesOf([...args, ...want]);
        const gargs = args.map(onGpu);
        const { dispatched, split } = await windowed(bytes, async () => expectSame(f(params)(...gargs), want, tol, `${c.name} eager, seed ${seed}`));
        if (bytes > alignment() && dispatched) expect(split, `${c.name}: no binding was split`).toBe(true);
        const which = (c.diffArgs ?? args.map((_, i) => i)).filter((i) => isFloat(args[i].dtype));
        if (c.skip?.grad || which.length === 0 || !want.some((o) => isFloat(o.dtype))) continue;
        const loss = (...xs: Tracer[]) =>
          f(params)(...xs)
            .filter((o) => isFloat(o.dtype))
            .map((o) => np.sum(o))
            .reduce((a, b) => a.add(b));
        const gw = grad(loss, { argnums: which })(...args) as Tracer[];
        await windowed(bytes, async () => expectSame(grad(loss, { argnums: which })(...gargs) as Tracer[], gw, tol * 10, `${c.name} grad, seed ${seed}`));
      }
    });
  }

  it("fused jit chains (elementwise, reductions, broadcasts) with windowed inputs and outputs = the CPU", async () => {
    const rng = new Rng(5);
    const x = rng.array([37, 29], "float32", -2, 2);
    const y = rng.array([29], "float32", -2, 2);
    const chain = (a: Tracer, b: Tracer) => {
      const t = np.tanh(a.mul(1.5).add(b)).mul(np.exp(a.neg()));
      return [t, np.sum(t, { axis: 1 }), np.max(t), np.sum(np.transpose(t).mul(b.reshape([29, 1])), { axis: 0 })];
    };
    const want = chain(x, y);
    const { split } = await windowed(bytesOf([x]) / 2, async () => expectSame(jit(chain)(onGpu(x), onGpu(y)) as Tracer[], want, TOL, "jit chain"));
    expect(split).toBe(true);
  });

  it("every product kernel and every convolution kernel reads and writes through windows", async () => {
    const rng = new Rng(9);
    const strategies = productStrategies();
    const mm: RoutineParams["dot_general"] = { dims: { contracting: [[1], [0]], batch: [[], []] } };
    // K = 30 is not a multiple of 4, so the lhs goes through the pack pass as well.
    for (const [M, K, N] of [
      [37, 32, 21],
      [9, 30, 40],
    ]) {
      const args = [rng.array([M, K], "float32"), rng.array([K, N], "float32")];
      const [want] = applyPrim("dot_general", args, mm) as NDArray[];
      for (const s of strategies) {
        const program = dotProgram(
          args.map((a) => a.aval),
          [want.aval],
          mm,
          s,
        );
        const { result, split } = await windowed(bytesOf([...args, want]), () => runOnGpu(program, args, want.aval));
        expect(split).toBe(true);
        expect(compareValues(result, want.dataSync(), true, 1e-5), `dot ${s} ${M}x${K}x${N}`).toBeNull();
      }
    }
    const conv: ConvParams = {
      strides: [1, 2],
      padding: [
        [1, 1],
        [0, 2],
      ],
      lhsDilation: [1, 1],
      rhsDilation: [1, 2],
      groups: 2,
    };
    const args = [rng.array([3, 4, 9, 11], "float32"), rng.array([6, 2, 3, 3], "float32")];
    const [want] = applyPrim("conv_general_dilated", args, conv) as NDArray[];
    for (const s of [...strategies, "direct" as const]) {
      const program = convProgram(
        args.map((a) => a.aval),
        [want.aval],
        conv,
        s,
      );
      const { result, split } = await windowed(bytesOf([...args, want]), () => runOnGpu(program, args, want.aval));
      expect(split).toBe(true);
      expect(compareValues(result, want.dataSync(), true, 1e-5), `conv ${s}`).toBeNull();
    }
  });

  it("a kernel needing more bindings than the device has names the primitive, the sizes and the limits", () => {
    const be = backend();
    const x = onGpu(np.ones([4096], { dtype: "float32" }));
    const real = be.windows;
    be.windows = { ...real, windowBytes: 256 };
    try {
      expect(() => np.exp(x)).toThrow(/exp.*16384 bytes exceed the 256-byte storage binding limit.*needs \d+ storage buffers, more than this adapter's \d+ per shader stage/);
    } finally {
      be.windows = real;
    }
  });

  it("windowed passes reach every array through the dialect's accessors, and refuse what windows cannot serve", () => {
    const lim = { windowBytes: 256, maxBindings: 8 };
    const d = windowedWgsl([1024, 64], lim, () => "scatter_add");
    // A 1024-byte array takes four windows, so the next binding starts at 4.
    const x = d.storage(0, "x", "f32", false);
    for (let j = 0; j < 4; j++) expect(x).toContain(`@group(0) @binding(${j}) var<storage, read> x_w${j}: array<f32>;`);
    expect(x).toContain("fn len_x() -> u32 { return 256u; }");
    expect(x).not.toContain("fn st_x");
    expect(d.storage(1, "out", "f32", true)).toContain("@group(0) @binding(4) var<storage, read_write> out_w0: array<f32>;");
    expect(d.st("out", "gi", d.ld("x", "gi + 1u"))).toBe("st_out(u32(gi), ld_x(u32(gi + 1u)));");
    expect(d.atomic("atomicAdd", "c", "k", ["1u"])).toBe("atomicAdd_c(u32(k), 1u)");
    expect(() => d.atomic("atomicCompareExchangeWeak", "c", "0u", ["0u", "1u"])).toThrow(
      /scatter_add: its arrays of 1024, 64 bytes exceed the 256-byte storage binding limit, and the kernel calls atomicCompareExchangeWeak on the elements of `c`/,
    );
    // A real pass: the exp kernel over a split input names no array but through accessors.
    const aval = { shape: [300], dtype: "float32" as const };
    const pass = renderWgsl(eagerKernel(getPrimitive("exp"), [aval], {}, [aval]).kernel);
    const { code, slots } = windowedPass(pass, [1200, 1200], { ...lim, maxBindings: 16 }, () => "exp");
    expect(slots.map((s) => [s.binding, s.offset, s.size])).toEqual([
      [0, 0, 256],
      [0, 256, 256],
      [0, 512, 256],
      [0, 768, 256],
      [0, 1024, 176],
      [1, 0, 256],
      [1, 256, 256],
      [1, 512, 256],
      [1, 768, 256],
      [1, 1024, 176],
    ]);
    expect(code).toContain("ld_in0(u32(");
    expect(code).toContain("st_out(u32(gi), ");
    expect(code).not.toMatch(/(?<![\w.])(in0|out)\[/);
  });
});

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
import { dotProgram, gpuCaps, type DotStrategy } from "../../../core/backends/webgpu/kernels/dot.ts";
import { convProgram } from "../../../core/backends/webgpu/kernels/conv.ts";
import { rewriteAccesses, windowedPass } from "../../../core/backends/webgpu/windows.ts";
import { isFloat } from "../../../core/dtype.ts";
import type { Params } from "../../../core/primitive.ts";
import { sizeOf } from "../../../core/shape.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { Rng, type PrimCase } from "../../cases/types.ts";
import { applyPrim, makeCase } from "../../transforms/harness.ts";
import { compareValues, gpuSkipReason, onGpu } from "./gpu.ts";
import { runOnGpu } from "./run-program.ts";
import { getPrimitive } from "../../../core/primitive.ts";
import { runsAsKernel } from "../../../core/compiler/eager.ts";

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
    const strategies: DotStrategy[] = gpuCaps().subgroups8 ? ["register", "shared", "subgroup"] : ["register", "shared"];
    const mm = { dims: { contracting: [[1], [0]], batch: [[], []] } };
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
    const conv = {
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

  it("a use of an array that windows cannot serve is refused with the reason, never miscompiled", () => {
    const refuse = (name: string, why: string): never => {
      throw new Error(`${name} ${why}`);
    };
    expect(rewriteAccesses("  out[gi] = x[x[gi]] + 1.0;", ["x", "out"], refuse).code).toBe("  st_out(u32(gi), ld_x(u32(ld_x(u32(gi)))) + 1.0);");
    expect(rewriteAccesses("  acc[i] += x[i];", ["acc", "x"], refuse).code).toBe("  st_acc(u32(i), ld_acc(u32(i)) + (ld_x(u32(i))));");
    expect(rewriteAccesses("  let o = atomicAdd(&c[k], 1u);", ["c"], refuse).code).toBe("  let o = atomicAdd_c(u32(k), 1u);");
    expect(() => rewriteAccesses("  let p = &x[3];", ["x"], refuse)).toThrow(/x takes a pointer/);
    expect(() => rewriteAccesses("  x[3].y = 1.0;", ["x"], refuse)).toThrow(/x assigns to a component/);
    expect(() => rewriteAccesses("  let n = arrayLength(&x);", ["x"], refuse)).toThrow(/x takes a pointer to the array/);
    // A helper's parameter named like the array is another variable; a local indexed beside the array's name is refused.
    const helper = "fn isnan_(x: f32) -> bool { return x != x; }\nfn main() { out[0] = x[1]; }";
    expect(rewriteAccesses(helper, ["x"], refuse).code).toContain("fn isnan_(x: f32) -> bool { return x != x; }");
    expect(() => rewriteAccesses("fn main() { let x = vec2(1.0, 2.0); out[0] = x[1]; }", ["x"], refuse)).toThrow(/x declares a local of the same name/);
    const pass = {
      code: "@group(0) @binding(0) var<storage, read_write> c: array<atomic<u32>>;\nfn main() { let r = atomicCompareExchangeWeak(&c[0], 0u, 1u); }",
      bindings: [{ out: 0 }],
      workgroups: 1,
    };
    expect(() => windowedPass(pass, [1024], { windowBytes: 256, maxBindings: 8 }, () => "scatter_add")).toThrow(
      /scatter_add: its array `c` \(1024 bytes\) exceeds the 256-byte storage binding limit, and the kernel calls atomicCompareExchangeWeak/,
    );
  });
});

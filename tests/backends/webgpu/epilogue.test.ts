/**
 * Fused epilogues on WebGPU: jit runs an elementwise kernel that reads a dot_general or
 * conv_general_dilated inside the product program's final stores. Properties: jit on the
 * GPU = eager on the CPU over random shapes (ragged K and N, batches, strides, padding,
 * dilation, groups, a second kernel input, int32); the epilogue ran and the jitted call
 * dispatched exactly the eager product's passes (one fewer than the unfused pair);
 * `withEpilogue` = the CPU for every product kernel, whole or with K split (the epilogue
 * then runs in the pass adding the splits); programs that must not fuse stay right.
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { getBackend, jit, lax, np } from "../../../index.ts";
import type { NDArray } from "../../../core/array.ts";
import { isFloat, type DType } from "../../../core/dtype.ts";
import { paramsOf, type Eqn, type Var } from "../../../core/jaxpr.ts";
import { convGeneralDilatedP, type ConvParams } from "../../../core/primitives/conv.ts";
import { dotGeneralP } from "../../../core/primitives/dot.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { fusionStats, partition, setFusion } from "../../../core/compiler/index.ts";
import { gpuStats, type GpuBuffer, type WebGpuBackend } from "../../../core/backends/webgpu/index.ts";
import { dotProgram, productStrategies, type DotStrategy } from "../../../core/backends/webgpu/kernels/dot.ts";
import { convProgram } from "../../../core/backends/webgpu/kernels/conv.ts";
import type { GpuProgram, OutputStore } from "../../../core/backends/webgpu/program.ts";
import { withEpilogue } from "../../../core/backends/webgpu/render-wgsl.ts";
import { Rng } from "../../cases/types.ts";
import { randomConvConfig } from "../../cases/conv.ts";
import { compareValues, gpuSkipReason, onGpu } from "./gpu.ts";
import { convParams } from "../../helpers.ts";

/** float32 sums of up to a few hundred products of values in [-1, 1), then a few elementwise ops. */
const TOL = 2e-5;

afterEach(() => setFusion(undefined));

type F = (...xs: Tracer[]) => Tracer;

/** Eager on the CPU vs jit on the GPU (and `product` alone, eagerly on the GPU, for its dispatch count). */
async function expectEpilogue(f: F, product: F, args: NDArray[], label: string): Promise<void> {
  const want = f(...args) as NDArray;
  const gargs = args.map(onGpu);
  const g = jit(f);
  await (g(...gargs) as NDArray).data(); // trace and compile outside the counted call
  let d = gpuStats.dispatches;
  const alone = product(...gargs) as NDArray;
  const productDispatches = gpuStats.dispatches - d;
  alone.dispose();
  const runs = fusionStats.epiloguesRun;
  d = gpuStats.dispatches;
  const out = g(...gargs) as NDArray;
  const dispatches = gpuStats.dispatches - d;
  const msg = compareValues(await out.data(), want.dataSync(), isFloat(want.dtype), TOL);
  expect(msg, label).toBeNull();
  expect(fusionStats.epiloguesRun - runs, label).toBe(1);
  expect(dispatches, label).toBe(productDispatches);
}

const relu = (x: Tracer) => np.maximum(x, 0);
/** A batched product over [B, M, K] x [B, K, N] as dot_general, or a plain matmul when unbatched. */
const product = (batched: boolean) => (x: Tracer, w: Tracer) => (batched ? lax.dotGeneral(x, w, { contracting: [[2], [1]], batch: [[0], [0]] }) : np.matmul(x, w));

const dotShapes = fc.record({
  M: fc.integer({ min: 1, max: 20 }),
  // K and N run across multiples of 4 and not (the pack passes).
  K: fc.integer({ min: 1, max: 20 }),
  N: fc.integer({ min: 1, max: 20 }),
  B: fc.constantFrom(0, 1, 3),
  seed: fc.integer({ min: 1, max: 1e9 }),
});

// Each case compiles programs for every kernel: on lavapipe with a cold shader cache and a loaded machine that outlasts the default minute.
describe.skipIf(gpuSkipReason !== null)("webgpu fused epilogues", { timeout: 240_000 }, () => {
  it("jit relu(x @ W + b) = the CPU, in the product's own dispatches", async () => {
    await fc.assert(
      fc.asyncProperty(dotShapes, async ({ M, K, N, B, seed }) => {
        const rng = new Rng(seed);
        const pre = B ? [B] : [];
        const args = [rng.array([...pre, M, K], "float32"), rng.array([...pre, K, N], "float32"), rng.array([N], "float32")];
        const p = product(B > 0);
        await expectEpilogue((x, w, b) => relu(np.add(p(x, w), b)), p, args, `B ${B} M ${M} K ${K} N ${N}`);
      }),
      { numRuns: 8 },
    );
    // K = 0: the product program only zero-fills, and the epilogue maps those zeros.
    const rng = new Rng(5);
    await expectEpilogue((x, w, b) => relu(np.add(np.matmul(x, w), b)), np.matmul, [rng.array([3, 0], "float32"), rng.array([0, 5], "float32"), rng.array([5], "float32")], "K = 0");
  });

  it("jit tanh(conv(x, w) + bias) = the CPU over strides, padding, dilations and groups", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), async (seed) => {
        const rng = new Rng(seed);
        const { lhsShape, rhsShape, params } = randomConvConfig(rng);
        const O = rhsShape[0];
        const conv = (x: Tracer, w: Tracer) => lax.convGeneralDilated(x, w, params);
        const f = (x: Tracer, w: Tracer, b: Tracer) => np.tanh(np.add(conv(x, w), np.reshape(b, [1, O, 1, 1])));
        const args = [rng.array(lhsShape, "float32"), rng.array(rhsShape, "float32"), rng.array([O], "float32")];
        await expectEpilogue(f, conv, args, `lhs ${lhsShape} rhs ${rhsShape} ${JSON.stringify(params)}`);
      }),
      { numRuns: 8 },
    );
  });

  it("jit (x @ W) * y + 1 with a second full-size input = the CPU, float32 and int32", async () => {
    await fc.assert(
      fc.asyncProperty(dotShapes, fc.constantFrom<DType>("float32", "int32"), async ({ M, K, N, B, seed }, dtype) => {
        const rng = new Rng(seed);
        const pre = B ? [B] : [];
        const [lo, hi] = dtype === "int32" ? [-50, 50] : [-1, 1];
        const args = [
          [...pre, M, K],
          [...pre, K, N],
          [...pre, M, N],
        ].map((s) => rng.array(s, dtype, lo, hi));
        const p = product(B > 0);
        await expectEpilogue((x, w, y) => np.add(np.mul(p(x, w), y), 1), p, args, `${dtype} B ${B} M ${M} K ${K} N ${N}`);
      }),
      { numRuns: 8 },
    );
  });

  it("without runEpilogue the same plan runs the product and the kernel apart: one more dispatch, same values", async () => {
    const be = getBackend("webgpu") as unknown as { runEpilogue?: unknown };
    const rng = new Rng(7);
    const args = [rng.array([9, 6], "float32"), rng.array([6, 11], "float32"), rng.array([11], "float32")].map(onGpu);
    const g = jit((...[x, w, b]: Tracer[]) => relu(np.add(np.matmul(x, w), b)));
    const count = async () => {
      await (g(...args) as NDArray).data();
      const d = gpuStats.dispatches;
      const out = await (g(...args) as NDArray).data();
      return { out, dispatches: gpuStats.dispatches - d };
    };
    const fused = await count();
    be.runEpilogue = undefined; // an own property hides the class method
    try {
      const apart = await count();
      expect(apart.dispatches).toBe(fused.dispatches + 1);
      expect(compareValues(apart.out, fused.out, true, 0)).toBeNull();
    } finally {
      delete be.runEpilogue;
    }
  });

  it("withEpilogue over each product kernel, K whole or split, = the CPU; null past the binding limit", async () => {
    const be = getBackend("webgpu") as unknown as WebGpuBackend;
    const strategies = productStrategies();
    if (!strategies.includes("subgroup")) console.log("[webgpu] epilogue on the subgroup kernel skipped: the device has no 8-wide subgroups");
    const rng = new Rng(9);
    type Kernel = DotStrategy | "direct";
    const cases: { f: F; args: NDArray[]; program: (strategy: Kernel, head: Eqn, out: OutputStore, splitK?: number) => GpuProgram; kernels: Kernel[]; split?: boolean }[] = [];
    const avals = (vs: Var[]) => vs.map((v) => v.aval);
    const dot = (s: Kernel, h: Eqn, out: OutputStore, splitK?: number) => dotProgram(avals(h.inputs), avals(h.outs), paramsOf(h, dotGeneralP), s as DotStrategy, out, splitK);
    for (const [B, M, K, N] of [
      [0, 17, 7, 66],
      [2, 9, 13, 3],
      [2, 5, 70, 6],
    ]) {
      const pre = B ? [B] : [];
      const args = [rng.array([...pre, M, K], "float32"), rng.array([...pre, K, N], "float32"), rng.array([N], "float32"), rng.array([...pre, M, N], "float32")];
      const p = product(B > 0);
      // K of 16 or less never splits.
      cases.push({ f: (x, w, b, y) => np.sub(np.mul(np.tanh(np.add(p(x, w), b)), y), 0.5), args, program: dot, kernels: strategies, split: K > 16 });
    }
    // Convolutions too, the direct kernel and patches in two chunks of images (the second stores at a batch offset) included.
    const params: ConvParams = {
      strides: [2, 1],
      padding: [
        [0, 2],
        [1, -1],
      ],
      lhsDilation: [1, 2],
      rhsDilation: [2, 1],
      groups: 2,
    };
    const conv = (s: Kernel, h: Eqn, out: OutputStore, splitK?: number) => {
      const p = paramsOf(h, convGeneralDilatedP);
      const [, Cg, KH, KW] = h.inputs[1].aval.shape;
      const [, , Ho, Wo] = h.outs[0].aval.shape;
      const ceil4 = (n: number) => Math.ceil(n / 4) * 4;
      const perImage = p.groups * ceil4(Cg * KH * KW) * ceil4(Ho * Wo);
      return convProgram(avals(h.inputs), avals(h.outs), p, s, 4 * perImage, out, splitK);
    };
    cases.push({
      f: (x, w, b) => relu(np.add(lax.convGeneralDilated(x, w, params), np.reshape(b, [1, 6, 1, 1]))),
      args: [rng.array([7, 4, 8, 6], "float32"), rng.array([6, 2, 3, 2], "float32"), rng.array([6], "float32")],
      program: conv,
      kernels: ["direct", ...strategies],
    });
    // A long K (8·7·7) over a small output, as weight gradients are.
    const wide = convParams(1);
    cases.push({
      f: (x, w, b) => relu(np.add(lax.convGeneralDilated(x, w, wide), np.reshape(b, [1, 4, 1, 1]))),
      args: [rng.array([5, 8, 9, 9], "float32"), rng.array([4, 8, 7, 7], "float32"), rng.array([4], "float32")],
      program: conv,
      kernels: strategies,
      split: true,
    });
    for (const c of cases) {
      const { jaxpr, consts } = jit(c.f).lower(...c.args);
      const [step] = partition(jaxpr);
      if (step.kind !== "kernel" || !step.head) throw new Error(`expected one kernel with a head:\n${jaxpr}`);
      const { head, kernel } = step;
      const values = new Map<Var, NDArray>([...jaxpr.constVars.map((v, i) => [v, consts[i]] as const), ...jaxpr.inVars.map((v, i) => [v, c.args[i]] as const)] as [Var, NDArray][]);
      const gpu = (v: Var) => onGpu(values.get(v)!).handle as GpuBuffer;
      const others = step.inputs.filter((_, i) => i !== head.input).map(gpu);
      const want = (c.f(...c.args) as NDArray).dataSync();
      for (const s of c.kernels) {
        for (const splitK of c.split ? [undefined, 3] : [undefined]) {
          const fused = withEpilogue((out) => c.program(s, head.eqn, out, splitK), kernel, head.input, 2, be.device.limits.maxStorageBuffersPerShaderStage)!;
          expect(fused, s).not.toBeNull();
          const [h] = be.runProgram(fused, [...head.eqn.inputs.map(gpu), ...others], [{ shape: kernel.out.shape, dtype: kernel.out.dtype }]);
          const got = await be.read(h, { shape: kernel.out.shape, dtype: kernel.out.dtype });
          be.free(h);
          expect(compareValues(got, want, true, TOL), `${s} split ${splitK} ${c.args.map((a) => `[${a.shape}]`).join(" ")}`).toBeNull();
        }
      }
      // The product pass binds three buffers, so three with the epilogue's inputs cannot fit.
      expect(withEpilogue((out) => c.program(c.kernels[0], head.eqn, out), kernel, head.input, 2, 3)).toBeNull();
    }
  });

  it("programs that must not fuse still match the CPU, with no epilogue run", async () => {
    const rng = new Rng(11);
    const x = rng.array([5, 6], "float32"),
      w = rng.array([6, 7], "float32");
    const programs: [string, (x: Tracer, w: Tracer) => Tracer | Tracer[]][] = [
      [
        "the product is also an output",
        (x, w) => {
          const y = np.matmul(x, w);
          return [y, relu(y)];
        },
      ],
      ["a reduction follows", (x, w) => np.sum(relu(np.matmul(x, w)))],
      ["a transpose sits between", (x, w) => np.add(np.transpose(np.matmul(x, w)), 1)],
      [
        "two kernels read the product",
        (x, w) => {
          const y = np.matmul(x, w);
          return [relu(y), np.exp(y)];
        },
      ],
    ];
    for (const [label, f] of programs) {
      const want = [f(x, w)].flat() as NDArray[];
      const runs = fusionStats.epiloguesRun;
      const got = [jit(f)(onGpu(x), onGpu(w))].flat() as NDArray[];
      expect(fusionStats.epiloguesRun - runs, label).toBe(0);
      for (let i = 0; i < want.length; i++) expect(compareValues(await got[i].data(), want[i].dataSync(), true, TOL), label).toBeNull();
    }
  });
});

/**
 * Values read by several kernels: fused jit = unfused jit, bit for bit, on random programs
 * where intermediates feed several readers (reductions, maps, a product, the outputs), so
 * cheap values are recomputed in their readers' kernels (fuse.ts `recomputable`) and
 * repeated reductions are computed once (cse.ts). Batch-norm-like statistics (mean over an
 * axis, broadcast back and subtracted) are the pattern these rules target.
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { jit, np, valueAndGrad } from "../../../index.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { partition, setFusion } from "../../../core/compiler/index.ts";
import { eliminateCommon } from "../../../core/compiler/cse.ts";
import { DEFAULT_WASM_KERNEL_MIN_SIZE, setWasmKernelMinSize } from "../../../core/backends/cpu/wasm/kernels.ts";
import { onWebgpu } from "../../backend-under-test.ts";
import { bothWays } from "../../helpers.ts";

afterEach(() => {
  setFusion(undefined);
  setWasmKernelMinSize(DEFAULT_WASM_KERNEL_MIN_SIZE);
});

// WGSL may contract a*b+c: there fused results agree to a relative 1e-5 (as in fusion.test.ts).
const RTOL = onWebgpu ? 1e-5 : 0;

async function expectSame(a: Tracer, b: Tracer): Promise<void> {
  expect(b.shape).toEqual(a.shape);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  for (let i = 0; i < x.length; i++) {
    if (Object.is(x[i], y[i])) continue;
    if (!(Math.abs(x[i] - y[i]) <= RTOL * Math.max(1, Math.abs(x[i])))) throw new Error(`element ${i}: unfused ${x[i]} != fused ${y[i]}`);
  }
}

function rand(seed: number, n: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 4;
  });
}

/** One step of a program over a list of [m,n] values; `a`, `b` pick earlier values. */
type Op = { kind: "center" | "scale" | "relu" | "add" | "mul" | "sumRows" | "matmul" | "square" | "reshaped"; a: number; b: number; axis: 0 | 1 };

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom("center", "scale", "relu", "add", "mul", "sumRows", "matmul", "square", "reshaped" as const),
  a: fc.nat(),
  b: fc.nat(),
  axis: fc.constantFrom(0 as const, 1 as const),
});

/** Every value stays [m,n]; outputs are the last value and a few picked ones (so some intermediates are program outputs). */
function program(ops: Op[], outs: number[]) {
  return (x: Tracer, w: Tracer, row: Tracer): Tracer[] => {
    const vals = [x];
    const pick = (k: number) => vals[k % vals.length];
    for (const op of ops) {
      const a = pick(op.a);
      const b = pick(op.b);
      let v: Tracer;
      if (op.kind === "center") v = np.sub(a, np.mean(a, { axis: op.axis, keepdims: true }));
      else if (op.kind === "scale") v = np.add(np.mul(a, np.rsqrt(np.add(np.mean(np.mul(a, a), { axis: op.axis, keepdims: true }), 1))), row);
      else if (op.kind === "relu") v = np.maximum(a, 0);
      else if (op.kind === "add") v = np.add(a, b);
      else if (op.kind === "mul") v = np.mul(a, b);
      else if (op.kind === "square") v = np.mul(np.sub(a, 0.5), np.sub(a, 0.5));
      else if (op.kind === "matmul") v = np.matmul(a, w);
      // Through reshapes that add and drop a leading axis (as vmapped batch norm's [copies, batch, ...] and a product's [copies * batch, ...]).
      else if (op.kind === "reshaped") v = np.reshape(np.maximum(np.add(np.reshape(a, [1, ...a.shape]), np.reshape(row, [1, 1, row.shape[1]])), 0), a.shape);
      else v = np.add(b, np.sum(a, { axis: op.axis, keepdims: true }));
      vals.push(v);
    }
    return [vals[vals.length - 1], ...outs.map((k) => pick(k)), np.sum(pick(outs[0] ?? 0), { axis: 0 })];
  };
}

describe("values read by several kernels", () => {
  for (const [label, minSize] of onWebgpu
    ? [["WGSL", null] as const]
    : ([
        ["JavaScript", Infinity],
        ["WebAssembly", 0],
      ] as const)) {
    it(`fused = unfused on random programs with shared intermediates (${label})`, async () => {
      if (minSize !== null) setWasmKernelMinSize(minSize);
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 6 }),
          fc.array(opArb, { minLength: 1, maxLength: 8 }),
          fc.array(fc.nat(), { maxLength: 2 }),
          fc.boolean(),
          fc.integer({ min: 1, max: 2 ** 30 }),
          async (m, n, ops, outs, differentiate, seed) => {
            const x = np.reshape(np.array(rand(seed, m * n)), [m, n]);
            const w = np.reshape(np.array(rand(seed + 1, n * n)), [n, n]);
            const row = np.reshape(np.array(rand(seed + 2, n)), [1, n]);
            const f = program(ops, outs);
            // The gradient's backward pass reads forward values in several places, as batch norm's does.
            const g = differentiate ? (a: Tracer, b: Tracer, c: Tracer) => valueAndGrad((q: Tracer) => np.sum(np.mul(f(q, b, c)[0], c)))(a) as unknown as Tracer[] : f;
            const [plain, fused] = bothWays(g, [x, w, row]);
            for (const [i, p] of plain.entries()) await expectSame(p, fused[i]);
          },
        ),
        // WGSL pipelines compile per new kernel: a few programs there.
        { numRuns: onWebgpu ? 5 : 80 },
      );
    });
  }

  it("batch norm statistics: the mean is reduced once, and x - mean is recomputed by its readers, not stored", () => {
    const f = (x: Tracer) => {
      const mean = np.mean(x, { axis: 0, keepdims: true });
      const v = np.var(x, { axis: 0, keepdims: true });
      const y = np.maximum(np.mul(np.sub(x, mean), np.rsqrt(np.add(v, 1e-5))), 0);
      return np.sum(y);
    };
    const x = np.reshape(np.array(rand(3, 64)), [16, 4]);
    const jaxpr = jit(f).lower(x).jaxpr;
    const reductions = (eqns: { prim: { reduction?: object } }[]) => eqns.filter((e) => e.prim.reduction).length;
    expect(reductions(eliminateCommon(jaxpr).eqns)).toBe(reductions(jaxpr.eqns) - 1);
    // Kernels writing a [16,4] value: none (the statistics are [1,4] and the result a scalar).
    const steps = partition(eliminateCommon(jaxpr));
    const full = steps.filter((s) => s.kind === "kernel" && !s.kernel.reduce && s.kernel.out.shape.join() === "16,4");
    expect(full).toEqual([]);
  });
});

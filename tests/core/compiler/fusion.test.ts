/**
 * Fused jit = unfused jit, bit for bit (to a stated tolerance on WebGPU), over random chains of elementwise ops, broadcasts,
 * transposes, reshapes and a trailing reduction; and the target chain runs as one kernel.
 * On the CPU the fused kernels run as JavaScript and as WebAssembly; in the webgpu project
 * as WGSL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { jit, np } from "../../../index.ts";
import type { DType } from "../../../core/dtype.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { fusionEnabled, fusionStats, partition, resetFusionStats, setFusion } from "../../../core/compiler/index.ts";
import { DEFAULT_WASM_KERNEL_MIN_SIZE, setWasmKernelMinSize, wasmKernelStats } from "../../../core/backends/cpu/wasm/kernels.ts";
import { itOnCpu, onWebgpu } from "../../backend-under-test.ts";
import { bothWays } from "../../helpers.ts";
import { getBackend } from "../../../core/backend.ts";

afterEach(() => setFusion(undefined));

/**
 * WGSL lets the driver contract a*b+c into one rounding and bounds exp, tanh, ... only in
 * ULPs, so a fused float kernel may round differently from the unfused chain; there float
 * results agree to FUSED_RTOL relative to max(1, |x|), non-finite ones and the other dtypes
 * exactly. On the CPU both are bit for bit the same.
 */
const FUSED_RTOL = onWebgpu ? 1e-5 : 0;

async function expectBitEqual(a: Tracer, b: Tracer): Promise<void> {
  expect(b.shape).toEqual(a.shape);
  expect(b.dtype).toBe(a.dtype);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  const rtol = a.dtype === "float32" ? FUSED_RTOL : 0;
  for (let i = 0; i < x.length; i++) {
    if (Object.is(x[i], y[i])) continue;
    const close = Number.isFinite(x[i]) && Number.isFinite(y[i]) && Math.abs(x[i] - y[i]) <= rtol * Math.max(1, Math.abs(x[i]));
    if (!close) throw new Error(`element ${i}: unfused ${x[i]} != fused ${y[i]}${rtol ? ` (beyond relative ${rtol})` : ""}`);
  }
}

function rand(seed: number, n: number): number[] {
  let s = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const u = s / 2 ** 32;
    out.push(u < 0.05 ? 0 : (u - 0.5) * 6);
  }
  return out;
}

type Op =
  | { kind: "unary"; name: "exp" | "tanh" | "sigmoid" | "neg" | "sin" | "abs" | "sqrtAbs" | "log1pAbs" }
  | { kind: "binary"; name: "add" | "sub" | "mul" | "div" | "maximum" | "minimum"; operand: "full" | "row" | "col" | "scalar" | "number" | "self" }
  | { kind: "transpose" }
  | { kind: "reshapeSwap" }
  | { kind: "where" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("unary" as const), name: fc.constantFrom("exp", "tanh", "sigmoid", "neg", "sin", "abs", "sqrtAbs", "log1pAbs" as const) }),
  fc.record({
    kind: fc.constant("binary" as const),
    name: fc.constantFrom("add", "sub", "mul", "div", "maximum", "minimum" as const),
    operand: fc.constantFrom("full", "row", "col", "scalar", "number", "self" as const),
  }),
  fc.constant({ kind: "transpose" as const }),
  fc.constant({ kind: "reshapeSwap" as const }),
  fc.constant({ kind: "where" as const }),
);

type Reduce = null | { op: "sum" | "max" | "min" | "prod"; axis: number | null };
const reduceArb: fc.Arbitrary<Reduce> = fc.oneof(fc.constant(null), fc.record({ op: fc.constantFrom("sum", "max", "min", "prod" as const), axis: fc.constantFrom(0, 1, null) }));

/** The program: a chain over inputs full [m,n], rows [m] and [n], columns [m,1] and [n,1], and a scalar. */
function program(ops: Op[], reduce: Reduce) {
  return (full: Tracer, rowM: Tracer, rowN: Tracer, colM: Tracer, colN: Tracer, s: Tracer): Tracer => {
    const m = full.shape[0];
    let v = full;
    for (const op of ops) {
      const [p, q] = v.shape;
      const pick = (len: number, a: Tracer, b: Tracer) => (len === m ? a : b);
      if (op.kind === "unary") {
        const f = { exp: np.exp, tanh: np.tanh, sigmoid: np.sigmoid, neg: np.neg, sin: np.sin, abs: np.abs, sqrtAbs: (x: Tracer) => np.sqrt(np.abs(x)), log1pAbs: (x: Tracer) => np.log1p(np.abs(x)) }[
          op.name
        ];
        v = f(v);
      } else if (op.kind === "binary") {
        const other =
          op.operand === "full"
            ? p === m && q === full.shape[1]
              ? full
              : np.reshape(np.transpose(full), [p, q])
            : op.operand === "row"
              ? pick(q, rowM, rowN)
              : op.operand === "col"
                ? pick(p, colM, colN)
                : op.operand === "scalar"
                  ? s
                  : op.operand === "number"
                    ? 0.75
                    : v;
        v = (np[op.name] as (a: Tracer, b: Tracer | number) => Tracer)(v, other);
      } else if (op.kind === "transpose") v = np.transpose(v);
      else if (op.kind === "reshapeSwap") v = np.reshape(v, [q, p]);
      else v = np.where(np.greater(v, s), v, np.mul(v, s));
    }
    if (!reduce) return v;
    const opts = { axis: reduce.axis };
    return reduce.op === "sum" ? np.sum(v, opts) : reduce.op === "max" ? np.max(v, opts) : reduce.op === "min" ? np.min(v, opts) : np.prod(v, opts);
  };
}

// On the CPU fused kernels run as JavaScript, or as WebAssembly from a size (0 here: every kernel).
const renderings: [string, number | null][] = onWebgpu
  ? [["WGSL", null]]
  : [
      ["JavaScript", Infinity],
      ["WebAssembly", 0],
    ];
// WGSL has no float64.
const floats: DType[] = onWebgpu ? ["float32"] : ["float32", "float64"];

describe.each(renderings)("fused kernels rendered to %s", (_, minSize) => {
  let runsBefore = 0;
  beforeAll(() => {
    if (minSize === null) return;
    setWasmKernelMinSize(minSize);
    runsBefore = wasmKernelStats.runs;
  });
  afterAll(() => {
    if (minSize === null) return;
    setWasmKernelMinSize(DEFAULT_WASM_KERNEL_MIN_SIZE);
    // The WebAssembly pass must really have run wasm kernels (and the JavaScript pass none).
    if (minSize === 0) expect(wasmKernelStats.runs - runsBefore).toBeGreaterThan(100);
    else expect(wasmKernelStats.runs).toBe(runsBefore);
  });

  it("fused = unfused bit for bit on random elementwise/broadcast/transpose/reshape/reduce chains", async () => {
    resetFusionStats();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(...floats),
        fc.array(opArb, { minLength: 1, maxLength: 8 }),
        reduceArb,
        fc.integer({ min: 1, max: 2 ** 31 }),
        async (m, n, dtype, ops, reduce, seed) => {
          const mk = (shape: number[], k: number) =>
            np.reshape(
              np.array(
                rand(
                  seed + k,
                  shape.reduce((a, b) => a * b, 1),
                ),
                { dtype },
              ),
              shape,
            );
          const args = [mk([m, n], 1), mk([m], 2), mk([n], 3), mk([m, 1], 4), mk([n, 1], 5), mk([], 6)];
          const [plain, fused] = bothWays(program(ops, reduce), args);
          await expectBitEqual(plain, fused);
        },
      ),
      { numRuns: 200 },
    );
    expect(fusionStats.kernelsRun).toBeGreaterThan(50);
  });

  it("fused = unfused on int32 (wrap-around), uint32 and bool chains", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer(), { minLength: 6, maxLength: 6 }), async (n, seeds) => {
        const ints = (k: number) =>
          np.array(
            Array.from({ length: n }, (_, i) => (seeds[k] * (i + 7)) | 0),
            { dtype: "int32" },
          );
        const f = (a: Tracer, b: Tracer, c: Tracer) => {
          const p = np.add(np.mul(a, b), np.neg(c));
          const q = np.where(np.less(p, a), np.sub(p, b), np.maximum(a, c));
          const u = np.add(np.astype(q, "uint32"), np.astype(np.mul(b, c), "uint32"));
          const z = np.logicalAnd(np.greater(u, np.astype(a, "uint32")), np.notEqual(p, 0));
          return np.sum(np.add(np.astype(z, "int32"), np.astype(np.astype(u, "float32"), "int32")));
        };
        const [plain, fused] = bothWays(f, [ints(0), ints(1), ints(2)]);
        await expectBitEqual(plain, fused);
      }),
      { numRuns: 50 },
    );
  });
});

describe("kernel fusion (jit)", () => {
  it("the switch is read at call time", () => {
    const before = process.env.AUGERINO_FUSE;
    process.env.AUGERINO_FUSE = "1";
    expect(fusionEnabled()).toBe(true);
    process.env.AUGERINO_FUSE = "0";
    expect(fusionEnabled()).toBe(false);
    setFusion(true);
    expect(fusionEnabled()).toBe(true);
    setFusion(undefined);
    delete process.env.AUGERINO_FUSE;
    expect(fusionEnabled()).toBe(true); // on by default
    if (before === undefined) delete process.env.AUGERINO_FUSE;
    else process.env.AUGERINO_FUSE = before;
  });

  it("tanh(x*a+b)*sigmoid(x) - 0.5 followed by sum runs as one kernel", async () => {
    const f = (x: Tracer, a: Tracer, b: Tracer) => np.sum(np.sub(np.mul(np.tanh(np.add(np.mul(x, a), b)), np.sigmoid(x)), 0.5));
    const x = np.reshape(np.array(rand(7, 60)), [6, 10]);
    const a = np.array(rand(8, 10));
    const b = np.array(0.25);
    const steps = partition(jit(f).lower(x, a, b).jaxpr);
    expect(steps.map((s) => s.kind)).toEqual(["kernel"]);
    resetFusionStats();
    const [plain, fused] = bothWays(f, [x, a, b]);
    await expectBitEqual(plain, fused);
    expect(fusionStats.kernelsRun).toBe(1);
  });

  it("an intermediate read outside its group is materialised; other primitives run as before", async () => {
    const f = (x: Tracer, w: Tracer) => {
      const h = np.tanh(np.add(x, 1));
      const y = np.matmul(h, w);
      return [np.sum(np.exp(y)), np.mean(np.mul(h, h), { axis: 0 }), h] as unknown as Tracer;
    };
    const x = np.reshape(np.array(rand(3, 12)), [3, 4]);
    const w = np.reshape(np.array(rand(4, 8)), [4, 2]);
    const g = jit(f);
    setFusion(false);
    const plain = g(x, w) as unknown as Tracer[];
    setFusion(true);
    const fused = g(x, w) as unknown as Tracer[];
    for (const [i, p] of plain.entries()) await expectBitEqual(p, fused[i]);
  });

  // The transcendental chain is bound by Math.tanh/Math.exp; the cheap one by memory traffic.
  // (bench/ times WebGPU's kernels.)
  const timed: [string, (x: Tracer, a: Tracer, b: Tracer) => Tracer][] = [
    ["tanh(x*a+b)*sigmoid(x) - 0.5, sum", (x: Tracer, a: Tracer, b: Tracer) => np.sum(np.sub(np.mul(np.tanh(np.add(np.mul(x, a), b)), np.sigmoid(x)), 0.5))],
    ["(x*a+b)*x - 0.5, sum", (x: Tracer, a: Tracer, b: Tracer) => np.sum(np.sub(np.mul(np.add(np.mul(x, a), b), x), 0.5))],
  ];
  for (const [label, f] of timed)
    itOnCpu("times the CPU's JavaScript and WebAssembly kernels")(`times a 4M-element chain ${label}, fused vs unfused (printed, not asserted)`, () => {
      const n = 4 * 1024 * 1024;
      const x = np.reshape(np.array(new Float32Array(rand(11, n))), [1024, 4096]);
      const a = np.array(new Float32Array(rand(12, 4096)));
      const b = np.array(0.25);
      const g = jit(f);
      const time = (on: boolean) => {
        setFusion(on);
        g(x, a, b).dispose(); // warm-up (tracing, compiling)
        const t = performance.now();
        const reps = 5;
        for (let i = 0; i < reps; i++) g(x, a, b).dispose();
        return (performance.now() - t) / reps;
      };
      const unfused = time(false);
      const fused = time(true);
      console.log(`4M-element ${label}: unfused ${unfused.toFixed(1)} ms, fused ${fused.toFixed(1)} ms, speedup ${(unfused / fused).toFixed(2)}x`);
    });
});

describe("kernels under a binding limit", () => {
  // Σ tanh(x_i)·x_i over n arguments: one group of n inputs unless a limit splits it.
  const sumOf = (...xs: Tracer[]) => xs.map((x) => np.mul(np.tanh(x), x)).reduce((s, t) => np.add(s, t));
  const argsOf = (n: number) => Array.from({ length: n }, (_, i) => np.array(rand(i + 1, 12)));

  it("a group stops growing where it would read more than maxInputs buffers", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 24 }), fc.integer({ min: 2, max: 9 }), (n, k) => {
        const steps = partition(jit(sumOf).lower(...argsOf(n)).jaxpr, new Map(), k);
        // Still every equation in some kernel: the limit splits groups, it does not unfuse them.
        expect(steps.map((s) => s.kind)).not.toContain("eqn");
        for (const s of steps) expect(s.kind === "kernel" && s.inputs.length).toBeLessThanOrEqual(k);
        if (n <= k) expect(steps).toHaveLength(1);
        else expect(steps.length).toBeGreaterThan(1);
      }),
      { numRuns: 40 },
    );
  });

  it("jit under the backend's own limit runs every group as a kernel and matches the unfused program", async () => {
    const limit = getBackend().maxKernelInputs;
    const args = argsOf((limit ?? 16) + 9);
    const kernels = partition(jit(sumOf).lower(...args).jaxpr, new Map(), limit).length;
    resetFusionStats();
    const [plain, fused] = bothWays(sumOf, args);
    expect(fusionStats.kernelsRun).toBe(kernels);
    await expectBitEqual(plain, fused);
  });
});

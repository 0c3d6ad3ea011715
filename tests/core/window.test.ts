/**
 * reduceWindow (sum / max / min / mean pooling): values against a direct reference, SAME
 * sizes, errors, gradients against finite differences (inputs without ties), the
 * select_and_gather_add / select_and_scatter_add transpose pair, vmap against a loop and
 * jit against eager.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { grad, jit, np, vjp, vmap, type Array } from "../../index.ts";
import { fromTyped } from "../../core/array.ts";
import { reduceWindow } from "../../core/lax-conv.ts";
import { reduceWindowMax, reduceWindowSum, selectAndGatherAdd, selectAndScatterAdd, type WindowParams } from "../../core/primitives/window.ts";
import { sizeOf, stridesOf } from "../../core/shape.ts";
import { distinctArray, randomWindowConfig, windowedShape } from "../cases/window.ts";
import { Rng } from "../cases/types.ts";
import { FLOAT, itOnCpu, onCpu, onWebgpu, pairOf, type Pair } from "../backend-under-test.ts";
import { expectClose, fdGrad, valuesOf } from "../helpers.ts";

/**
 * Random float64 operands as Pairs: `dev` on the backend under test (float32 on WebGPU),
 * `ref` the same values in float64 on the CPU for references and finite differences.
 */
const draw = (rng: Rng, shape: number[]): Pair => pairOf(onCpu(() => rng.array(shape)));
const drawDistinct = (rng: Rng, shape: number[]): Pair => pairOf(onCpu(() => distinctArray(rng, shape)));
/**
 * Tolerances, relative to 1 + |expected|: 1e-12 in float64 on the CPU; WebGPU sums windows of
 * up to a few dozen float32 values (and jit, vmap and grad take other routes to them), 1e-5;
 * float32 gradients against float64 finite differences, 5e-5.
 */
const EXACT = onWebgpu ? 1e-5 : 1e-12;
const FD = (cpu: number) => (onWebgpu ? 5e-5 : cpu);
/** Property runs: fewer on WebGPU, where each new shape compiles shaders on lavapipe. */
const runs = (n: number) => (onWebgpu ? Math.ceil(n / 4) : n);
/** The elements of `x` (on any backend) as numbers. */

type Op = "sum" | "max" | "min" | "mean";
const seeds = fc.integer({ min: 1, max: 0x7fffffff });

/** The definition: every output element reduces its window, padding counted as the op's identity (0 for mean). */
function referenceWindow(x: Array, op: Op, p: WindowParams): Array {
  const shape = x.shape;
  const outShape = windowedShape(shape, p);
  const xd = x.dataSync(); // a CPU array (the float64 reference)
  const st = stridesOf(shape);
  const out = new Float64Array(sizeOf(outShape));
  const unravel = (f: number, s: number[]) => s.map((_, d) => Math.floor(f / sizeOf(s.slice(d + 1))) % s[d]);
  for (let f = 0; f < out.length; f++) {
    const o = unravel(f, outShape);
    let acc = op === "max" ? -Infinity : op === "min" ? Infinity : 0;
    for (let t = 0; t < sizeOf(p.window); t++) {
      const k = unravel(t, p.window);
      const idx = o.map((od, d) => od * p.strides[d] + k[d] - p.padding[d][0]);
      if (idx.some((i, d) => i < 0 || i >= shape[d])) continue;
      const v = xd[idx.reduce((s, i, d) => s + i * st[d], 0)];
      acc = op === "max" ? Math.max(acc, v) : op === "min" ? Math.min(acc, v) : acc + v;
    }
    out[f] = op === "mean" ? acc / sizeOf(p.window) : acc;
  }
  return fromTyped(out, outShape, "float64", "cpu");
}

const pool = (op: Op, p: WindowParams) => (x: Array) => reduceWindow(x, op, p);

describe("reduceWindow values", () => {
  it("sum / max / min / mean match the reference for random shapes, windows, strides and paddings", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.constantFrom<Op>("sum", "max", "min", "mean"), async (seed, op) => {
        const rng = new Rng(seed);
        const { shape, params } = randomWindowConfig(rng, 4);
        const x = draw(rng, shape);
        await expectClose(reduceWindow(x.dev, op, params), referenceWindow(x.ref, op, params), EXACT, `${op} seed ${seed}`);
      }),
      { numRuns: runs(150) },
    );
  });

  it("a window shorter than the rank pools the trailing axes (NCHW max pooling)", async () => {
    const x = np.arange(32, undefined, 1, { dtype: FLOAT }).reshape([2, 1, 4, 4]);
    const y = reduceWindow(x, "max", { window: [2, 2], strides: [2, 2] });
    expect(y.shape).toEqual([2, 1, 2, 2]);
    expect(await valuesOf(y)).toEqual([5, 7, 13, 15, 21, 23, 29, 31]);
    const full = {
      window: [1, 1, 2, 2],
      strides: [1, 1, 2, 2],
      padding: [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
      ] as [number, number][],
    };
    const xr = onCpu(() => np.arange(32, undefined, 1, { dtype: "float64" }).reshape([2, 1, 4, 4]));
    await expectClose(reduceWindow(x, "mean", { window: [2, 2], strides: 2 }), referenceWindow(xr, "mean", full), EXACT);
  });

  it("SAME gives ceil(n / stride) outputs per pooled axis", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), async (h, w, k, s) => {
        const y = reduceWindow(np.ones([2, h, w]), "max", { window: [k, k], strides: [s, s], padding: "SAME" });
        expect(y.shape).toEqual([2, Math.ceil(h / s), Math.ceil(w / s)]);
      }),
      { numRuns: 60 },
    );
  });

  it("mean with SAME padding counts padded zeros (count_include_pad = true)", async () => {
    const y = reduceWindow(np.ones([1, 1, 3, 3], { dtype: FLOAT }), "mean", { window: [3, 3], padding: "SAME" });
    // In float32 (WebGPU) the quotients round once more: compare within EXACT.
    await expectClose(
      y,
      onCpu(() =>
        np.array(
          [
            [
              [
                [4 / 9, 6 / 9, 4 / 9],
                [6 / 9, 1, 6 / 9],
                [4 / 9, 6 / 9, 4 / 9],
              ],
            ],
          ],
          { dtype: "float64" },
        ),
      ),
      onWebgpu ? EXACT : 0,
    );
  });

  it("max pads with -inf and works on integers", async () => {
    const x = np.array(
      [
        [-5, -3],
        [-4, -9],
      ],
      { dtype: FLOAT },
    );
    expect(await valuesOf(reduceWindow(x, "max", { window: [2, 2], padding: "SAME" }))).toEqual([-3, -3, -4, -9]);
    const xi = np.array([3, 1, 4, 1, 5], { dtype: "int32" });
    const yi = reduceWindow(xi, "max", { window: [2] });
    expect(yi.dtype).toBe("int32");
    expect(await valuesOf(yi)).toEqual([3, 4, 4, 5]);
    expect(reduceWindow(xi, "mean", { window: [2] }).dtype).toBe("float32");
  });
});

describe("reduceWindow errors", () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      "window larger than input",
      () => reduceWindow(np.ones([1, 2, 3]), "max", { window: [4, 2] }),
      /window 4 is larger than the padded size 2 of axis 1 .*\[1,2,3\]|\[1,2,3\].*window 4 is larger than the padded size 2 of axis 1/,
    ],
    ["window longer than rank", () => reduceWindow(np.ones([3]), "sum", { window: [2, 2] }), /window \[2,2\] must give 1 to 1/],
    ["non-integer window", () => reduceWindow(np.ones([3]), "sum", { window: [1.5] }), /window/],
    ["bad strides", () => reduceWindow(np.ones([4]), "sum", { window: [2], strides: [0] }), /strides/],
    [
      "bad padding",
      () =>
        reduceWindow(np.ones([4]), "sum", {
          window: [2],
          padding: [
            [1, 1],
            [0, 0],
          ],
        }),
      /padding/,
    ],
    ["bad op", () => reduceWindow(np.ones([4]), "prod" as Op, { window: [2] }), /op must be/],
  ];
  for (const [what, f, re] of cases) it(what, () => expect(f).toThrow(re));
});

describe("reduceWindow gradients", () => {
  it("grad of every op equals central finite differences (max / min on inputs without ties)", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.constantFrom<Op>("sum", "max", "min", "mean"), async (seed, op) => {
        const rng = new Rng(seed);
        const { shape, params } = randomWindowConfig(rng, 3, op === "max" || op === "min");
        const x = drawDistinct(rng, shape);
        const r = draw(rng, windowedShape(shape, params));
        const loss = (v: Array) => np.sum(np.mul(reduceWindow(v, op, params), v.dtype === "float64" ? r.ref : r.dev));
        await expectClose(grad(loss)(x.dev), fdGrad(loss, x.ref), FD(1e-6), `${op} seed ${seed}`);
      }),
      { numRuns: runs(80) },
    );
  });

  it("grad of sum / mean over tiling windows (stride = window, unpadded, a remainder left uncovered) equals finite differences", async () => {
    // The transpose of a tiling window sum is a broadcast of the cotangent, not the general spread-and-sum.
    const cases: [number[], number[]][] = [
      [
        [2, 5, 7],
        [1, 2, 3],
      ],
      [
        [4, 6],
        [2, 2],
      ],
      [
        [3, 1, 4],
        [3, 1, 4],
      ],
    ];
    for (const [k, [shape, window]] of cases.entries()) {
      for (const op of ["sum", "mean"] as const) {
        const rng = new Rng(100 + k);
        const params = { window, strides: window, padding: shape.map((): [number, number] => [0, 0]) };
        const x = drawDistinct(rng, shape);
        const r = draw(rng, windowedShape(shape, params));
        const loss = (v: Array) => np.sum(np.mul(reduceWindow(v, op, params), v.dtype === "float64" ? r.ref : r.dev));
        await expectClose(grad(loss)(x.dev), fdGrad(loss, x.ref), FD(1e-6), `${op} [${shape}] window [${window}]`);
      }
    }
  });

  it("max-pool gradient goes to the first maximum when a window ties", async () => {
    const x = np.array(
      [
        [1, 1],
        [0, 1],
      ],
      { dtype: FLOAT },
    );
    expect(await valuesOf(grad((v: Array) => np.sum(reduceWindow(v, "max", { window: [2, 2] })))(x))).toEqual([1, 0, 0, 0]);
  });

  it("second order through max pooling (jvp and transpose of the select primitives) equals finite differences", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, async (seed) => {
        const rng = new Rng(seed);
        const { shape, params } = randomWindowConfig(rng, 3, true);
        const x = drawDistinct(rng, shape);
        const v = draw(rng, shape);
        const f = (a: Array) => np.sum(np.sin(reduceWindow(a, "max", params)));
        const g = (a: Array) => np.sum(grad(f)(a).mul(a.dtype === "float64" ? v.ref : v.dev));
        await expectClose(grad(g)(x.dev), fdGrad(g, x.ref), FD(1e-5), `seed ${seed}`);
      }),
      { numRuns: runs(30) },
    );
  });

  it("select_and_gather_add and select_and_scatter_add are each other's transpose", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.constantFrom<"max" | "min">("max", "min"), async (seed, sel) => {
        const rng = new Rng(seed);
        const { shape, params } = randomWindowConfig(rng, 3);
        const x = drawDistinct(rng, shape).dev;
        const t = draw(rng, shape).dev;
        const c = draw(rng, windowedShape(shape, params)).dev;
        const dot = async (a: Array, b: Array) => Number((await np.sum(np.mul(a, b)).data())[0]);
        const lhs = await dot(selectAndGatherAdd(t, x, params, sel), c);
        // Two float32 sums (WebGPU) of the same products in different orders: 1e-5.
        expect(Math.abs(lhs - (await dot(t, selectAndScatterAdd(c, x, params, sel))))).toBeLessThan(EXACT);
        const [, back] = vjp((s: Array) => selectAndScatterAdd(s, x, params, sel), c);
        await expectClose(back(t)[0] as Array, selectAndGatherAdd(t, x, params, sel), EXACT);
      }),
      { numRuns: runs(50) },
    );
  });
});

describe("the pooling fast path (windows on the last two axes only)", () => {
  // The same windows laid out as [H, W, B] (trailing batch axis: the general loop) and
  // [B, H, W] (leading batch: the two-axis loop) must agree exactly, ties and NaN included.
  itOnCpu("tests the CPU's two-axis pooling loop against its general loop (float64)")("picks the same positions, ties and NaN included, as the general loop", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.constantFrom<"max" | "min">("max", "min"), async (seed, sel) => {
        const rng = new Rng(seed);
        const { shape: hw, params: p2 } = randomWindowConfig(rng, 2, false, { rank: 2, maxDim: 7 });
        const b = rng.int(1, 4);
        // Few distinct values, so windows tie; an occasional NaN.
        const vals = Float64Array.from({ length: b * hw[0] * hw[1] }, () => (rng.int(0, 20) === 0 ? NaN : rng.int(0, 3)));
        const lead = fromTyped(vals, [b, ...hw], "float64");
        const trail = np.transpose(lead, [1, 2, 0]);
        const fast: WindowParams = { window: [1, ...p2.window], strides: [1, ...p2.strides], padding: [[0, 0], ...p2.padding] };
        const general: WindowParams = { window: [...p2.window, 1], strides: [...p2.strides, 1], padding: [...p2.padding, [0, 0]] };
        const s = rng.array([b, ...windowedShape(hw, p2)]);
        const same = (a: Array, c: Array, what: string) => expect([...a.dataSync()], what).toEqual([...np.transpose(c, [2, 0, 1]).dataSync()]);
        same(selectAndScatterAdd(s, lead, fast, sel), selectAndScatterAdd(np.transpose(s, [1, 2, 0]), trail, general, sel), "select_and_scatter_add");
        same(selectAndGatherAdd(lead, lead, fast, sel), selectAndGatherAdd(trail, trail, general, sel), "select_and_gather_add");
        same(reduceWindowSum(lead, fast), reduceWindowSum(trail, general), "reduce_window_sum");
      }),
      { numRuns: 200 },
    );
  });

  it("an empty operand gives every window the identity (all windows in padding)", async () => {
    const p: WindowParams = {
      window: [2, 1],
      strides: [1, 1],
      padding: [
        [2, 2],
        [0, 0],
      ],
    };
    const y = reduceWindowMax(np.zeros([0, 3]), p);
    expect(y.shape).toEqual([3, 3]);
    expect(await valuesOf(y)).toEqual([-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity]);
  });
});

describe("reduceWindow under vmap and jit", () => {
  it("vmap at any axis equals a loop, also for grad of max pooling", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.constantFrom<Op>("sum", "max", "min", "mean"), async (seed, op) => {
        const rng = new Rng(seed);
        const { shape, params } = randomWindowConfig(rng, 3, true);
        const B = rng.int(1, 4);
        const xs = globalThis.Array.from({ length: B }, () => drawDistinct(rng, shape).dev);
        const axis = rng.int(0, shape.length + 1);
        const stacked = np.stack(xs, { axis });
        const f = pool(op, params);
        await expectClose(vmap(f, { inAxes: axis })(stacked), np.stack(xs.map(f)), EXACT, `${op} seed ${seed}`);
        const g = grad((a: Array) => np.sum(np.square(f(a))));
        await expectClose(vmap(g, { inAxes: axis })(stacked), np.stack(xs.map(g)), EXACT, `grad ${op} seed ${seed}`);
      }),
      { numRuns: runs(60) },
    );
  });

  it("jit equals eager for values and gradients", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.constantFrom<Op>("sum", "max", "min", "mean"), async (seed, op) => {
        const rng = new Rng(seed);
        const { shape, params } = randomWindowConfig(rng, 3, true);
        const x = drawDistinct(rng, shape).dev;
        const f = pool(op, params);
        // Sums and means of float32 windows (WebGPU) may be ordered differently by jit's kernels.
        await expectClose(jit(f)(x), f(x), onWebgpu ? EXACT : 0);
        const g = grad((a: Array) => np.sum(np.sin(f(a))));
        await expectClose(jit(g)(x), g(x), EXACT);
      }),
      { numRuns: runs(30) },
    );
  });
});

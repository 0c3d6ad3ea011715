/**
 * conv / convGeneralDilated: values against a direct seven-loop reference, SAME sizes,
 * error messages, gradients against finite differences (first and second order), vmap
 * against a loop for every batched operand combination, and jit against eager.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { grad, jit, np, vmap, type Array } from "../../index.ts";
import { fromTyped } from "../../core/array.ts";
import { conv, convGeneralDilated } from "../../core/lax-conv.ts";
import { dilateDim, type ConvParams } from "../../core/primitives/conv.ts";
import { randomConvConfig } from "../cases/conv.ts";
import { Rng } from "../cases/types.ts";
import { itOnCpu, onCpu, onWebgpu, pairOf, type Pair } from "../backend-under-test.ts";
import { expectClose, fdGrad } from "../helpers.ts";

/**
 * A random float64 operand as a Pair: `dev` on the backend under test (float32 on WebGPU),
 * `ref` the same values in float64 on the CPU for references and finite differences.
 */
const draw = (rng: Rng, shape: number[]): Pair => pairOf(onCpu(() => rng.array(shape)));
/**
 * Tolerances, relative to 1 + |expected|. On the CPU float64 agrees to 1e-12; on WebGPU the
 * float32 sums of up to a few dozen products of values in [-1, 1] (and two routes to them:
 * jit's fused kernels, vmap's batched ones) agree to 1e-5, float32 gradients with float64
 * finite differences to 5e-5.
 */
const EXACT = onWebgpu ? 1e-5 : 1e-12;
const FD = (cpu: number) => (onWebgpu ? 5e-5 : cpu);
/** Property runs: fewer on WebGPU, where each new shape compiles shaders on lavapipe. */
const runs = (n: number) => (onWebgpu ? Math.ceil(n / 4) : n);

const seeds = fc.integer({ min: 1, max: 0x7fffffff });

/** The definition, one output element at a time: n, o, y, x outside; c, ky, kx inside. */
function referenceConv(x: Array, w: Array, p: ConvParams): Array {
  const [N, C, H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  const Og = O / p.groups;
  const Ho = Math.floor((dilateDim(H, p.lhsDilation[0]) + p.padding[0][0] + p.padding[0][1] - dilateDim(KH, p.rhsDilation[0])) / p.strides[0]) + 1;
  const Wo = Math.floor((dilateDim(W, p.lhsDilation[1]) + p.padding[1][0] + p.padding[1][1] - dilateDim(KW, p.rhsDilation[1])) / p.strides[1]) + 1;
  // CPU arrays (the float64 references).
  const xd = x.dataSync();
  const wd = w.dataSync();
  const out = new Float64Array(N * O * Ho * Wo);
  // Position in the padded, dilated input -> input index, or -1 (padding or a dilation hole).
  const src = (pos: number, dil: number, n: number) => (pos >= 0 && pos % dil === 0 && pos / dil < n ? pos / dil : -1);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let y = 0; y < Ho; y++)
        for (let xo = 0; xo < Wo; xo++) {
          const g = Math.floor(o / Og);
          let acc = 0;
          for (let c = 0; c < Cg; c++)
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const i = src(y * p.strides[0] + ky * p.rhsDilation[0] - p.padding[0][0], p.lhsDilation[0], H);
                const j = src(xo * p.strides[1] + kx * p.rhsDilation[1] - p.padding[1][0], p.lhsDilation[1], W);
                if (i < 0 || j < 0) continue;
                acc += xd[((n * C + g * Cg + c) * H + i) * W + j] * wd[((o * Cg + c) * KH + ky) * KW + kx];
              }
          out[((n * O + o) * Ho + y) * Wo + xo] = acc;
        }
  return fromTyped(out, [N, O, Ho, Wo], "float64", "cpu");
}

const asExplicit = (p: ConvParams) => ({ strides: p.strides, padding: p.padding, lhsDilation: p.lhsDilation, rhsDilation: p.rhsDilation, groups: p.groups });

describe("conv values", () => {
  it("matches the seven-loop reference for random shapes, strides, paddings, dilations and groups", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, async (seed) => {
        const rng = new Rng(seed);
        const { lhsShape, rhsShape, params } = randomConvConfig(rng);
        const { dev: x, ref: xr } = draw(rng, lhsShape);
        const { dev: w, ref: wr } = draw(rng, rhsShape);
        // String paddings too: SAME through its TF / JAX pairs, VALID where the window fits.
        const zero: ConvParams["padding"] = [
          [0, 0],
          [0, 0],
        ];
        const validFits = [0, 1].every((d) => dilateDim(x.shape[2 + d], params.lhsDilation[d]) >= dilateDim(w.shape[2 + d], params.rhsDilation[d]));
        const mode = rng.pick(["explicit", "explicit", "SAME", "VALID"] as const);
        const pads = mode === "SAME" ? samePads(x.shape, w.shape, params) : mode === "VALID" && validFits ? zero : params.padding;
        const spec = mode === "SAME" ? "SAME" : mode === "VALID" && validFits ? "VALID" : params.padding;
        const y = convGeneralDilated(x, w, { ...asExplicit(params), padding: spec });
        await expectClose(y, referenceConv(xr, wr, { ...params, padding: pads }), EXACT, `seed ${seed} ${mode}`);
      }),
      { numRuns: runs(150) },
    );
  });

  it("VALID with unit strides gives H - K + 1 and equals the reference", async () => {
    const rng = new Rng(7);
    const { dev: x, ref: xr } = draw(rng, [2, 3, 6, 5]);
    const { dev: w, ref: wr } = draw(rng, [4, 3, 3, 2]);
    const y = conv(x, w);
    expect(y.shape).toEqual([2, 4, 4, 4]);
    await expectClose(
      y,
      referenceConv(xr, wr, {
        strides: [1, 1],
        padding: [
          [0, 0],
          [0, 0],
        ],
        lhsDilation: [1, 1],
        rhsDilation: [1, 1],
        groups: 1,
      }),
      EXACT,
    );
  });

  it("SAME gives ceil(H / stride) outputs for any kernel, stride and dilation", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        async (h, w, k, s, d) => {
          const y = conv(np.ones([1, 1, h, w]), np.ones([1, 1, k, k]), { strides: s, padding: "SAME", dilation: d });
          expect(y.shape).toEqual([1, 1, Math.ceil(h / s), Math.ceil(w / s)]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("SAME with stride 1 and an odd kernel keeps the image centred (symmetric padding)", async () => {
    const rng = new Rng(3);
    const x = draw(rng, [1, 2, 5, 5]).dev;
    const w = draw(rng, [3, 2, 3, 3]).dev;
    await expectClose(
      conv(x, w, { padding: "SAME" }),
      conv(x, w, {
        padding: [
          [1, 1],
          [1, 1],
        ],
      }),
      0,
    );
  });

  it("groups = C is a depthwise convolution: each channel convolved on its own", async () => {
    const rng = new Rng(11);
    const x = draw(rng, [2, 3, 5, 4]).dev;
    const w = draw(rng, [3, 1, 2, 2]).dev;
    const y = conv(x, w, { groups: 3 });
    for (let c = 0; c < 3; c++) await expectClose(y.slice(null, [c, c + 1]), conv(x.slice(null, [c, c + 1]), w.slice([c, c + 1])), EXACT);
  });

  it("promotes dtypes: float32 stays float32 (within 1e-5 of float64), ints give float32", async () => {
    const rng = new Rng(5);
    const x = draw(rng, [1, 2, 4, 4]);
    const w = draw(rng, [2, 2, 2, 2]);
    const y32 = conv(x.dev.astype("float32"), w.dev.astype("float32"));
    expect(y32.dtype).toBe("float32");
    await expectClose(
      y32,
      onCpu(() => conv(x.ref, w.ref)),
      1e-5,
    );
    expect(conv(np.ones([1, 1, 3, 3], { dtype: "int32" }), np.ones([1, 1, 2, 2], { dtype: "int32" })).dtype).toBe("float32");
  });

  itOnCpu("WebGPU has no float64")("promotes float32 with float64 to float64", () => {
    const rng = new Rng(5);
    const x = rng.array([1, 2, 4, 4]);
    const w = rng.array([2, 2, 2, 2]);
    expect(conv(x.astype("float32"), w).dtype).toBe("float64");
  });
});

function samePads(xs: number[], ws: number[], p: ConvParams): ConvParams["padding"] {
  return [0, 1].map((d) => {
    const n = dilateDim(xs[2 + d], p.lhsDilation[d]);
    const k = dilateDim(ws[2 + d], p.rhsDilation[d]);
    const total = Math.max((Math.ceil(n / p.strides[d]) - 1) * p.strides[d] + k - n, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }) as ConvParams["padding"];
}

describe("conv errors name the operation and shapes", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["channel mismatch", () => conv(np.ones([1, 3, 5, 5]), np.ones([2, 2, 3, 3])), /channel mismatch.*\[1,3,5,5\].*\[2,2,3,3\]|\[1,3,5,5\].*\[2,2,3,3\].*channel mismatch/],
    ["groups not dividing C", () => conv(np.ones([1, 3, 5, 5]), np.ones([2, 1, 3, 3]), { groups: 2 }), /groups=2 does not divide the 3 input channels/],
    ["groups not dividing O", () => conv(np.ones([1, 4, 5, 5]), np.ones([3, 2, 3, 3]), { groups: 2 }), /groups=2 does not divide the 3 output channels/],
    ["window larger than input", () => conv(np.ones([1, 1, 2, 5]), np.ones([1, 1, 3, 3])), /window 3 is larger than .*input 2 along spatial axis 0/],
    ["dilated window larger than input", () => conv(np.ones([1, 1, 4, 4]), np.ones([1, 1, 2, 2]), { dilation: 4 }), /window 5 is larger/],
    ["rank", () => conv(np.ones([3, 5, 5]), np.ones([1, 3, 3, 3])), /NCHW.*rank 4/],
    ["strides", () => conv(np.ones([1, 1, 5, 5]), np.ones([1, 1, 3, 3]), { strides: 0 }), /strides/],
    ["padding", () => conv(np.ones([1, 1, 5, 5]), np.ones([1, 1, 3, 3]), { padding: [[1, 1]] }), /padding/],
  ];
  for (const [what, f, re] of cases) it(what, () => expect(f).toThrow(re));
});

describe("conv gradients", () => {
  it("grad in input and weights equals central finite differences (float64, eps 1e-6)", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, async (seed) => {
        const rng = new Rng(seed);
        const { lhsShape, rhsShape, params } = randomConvConfig(rng);
        const x = draw(rng, lhsShape);
        const w = draw(rng, rhsShape);
        const r = draw(rng, convGeneralDilated(x.dev, w.dev, params).shape);
        const loss = (a: Array, b: Array) => np.sum(np.mul(convGeneralDilated(a, b, params), a.dtype === "float64" ? r.ref : r.dev));
        const [gx, gw] = grad(loss, { argnums: [0, 1] })(x.dev, w.dev) as Array[];
        await expectClose(
          gx,
          fdGrad((v) => loss(v, w.ref), x.ref),
          FD(1e-6),
          `dx seed ${seed}`,
        );
        await expectClose(
          gw,
          fdGrad((v) => loss(x.ref, v), w.ref),
          FD(1e-6),
          `dw seed ${seed}`,
        );
      }),
      { numRuns: runs(30) },
    );
  });

  it("second order: grad through the transposed convolutions equals finite differences", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, async (seed) => {
        const rng = new Rng(seed);
        const { lhsShape, rhsShape, params } = randomConvConfig(rng);
        const x = draw(rng, lhsShape);
        const w = draw(rng, rhsShape);
        const r = draw(rng, convGeneralDilated(x.dev, w.dev, params).shape);
        // The operands of the array's own precision: float64 CPU references inside fdGrad, the backend's otherwise.
        const pick = (a: Array, p: Pair) => (a.dtype === "float64" ? p.ref : p.dev);
        const loss = (a: Array, b: Array) => np.sum(np.tanh(convGeneralDilated(a, b, params)).mul(pick(a, r)));
        // d/dw of |dL/dx|^2 transposes the lhs-transpose conv in its kernel; d/dx of |dL/dw|^2 the rhs one in its input.
        const hx = (b: Array) => np.sum(np.square(grad(loss)(pick(b, x), b)));
        const hw = (a: Array) => np.sum(np.square(grad(loss, { argnums: 1 })(a, pick(a, w))));
        await expectClose(grad(hx)(w.dev), fdGrad(hx, w.ref), FD(1e-5), `d/dw |dx|^2 seed ${seed}`);
        await expectClose(grad(hw)(x.dev), fdGrad(hw, x.ref), FD(1e-5), `d/dx |dw|^2 seed ${seed}`);
      }),
      { numRuns: runs(12) },
    );
  });
});

describe("conv under vmap and jit", () => {
  it("vmap over lhs, rhs, or both (at any axis) equals a loop", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.constantFrom("lhs", "rhs", "both"), async (seed, which) => {
        const rng = new Rng(seed);
        const { lhsShape, rhsShape, params } = randomConvConfig(rng);
        const B = rng.int(1, 4);
        const xs = globalThis.Array.from({ length: B }, () => draw(rng, lhsShape).dev);
        const ws = globalThis.Array.from({ length: B }, () => draw(rng, rhsShape).dev);
        const ax = rng.int(0, 5);
        const aw = rng.int(0, 5);
        const f = (a: Array, b: Array) => convGeneralDilated(a, b, params);
        const bx = which !== "rhs";
        const bw = which !== "lhs";
        const out = vmap(f, { inAxes: [bx ? ax : null, bw ? aw : null] })(bx ? np.stack(xs, { axis: ax }) : xs[0], bw ? np.stack(ws, { axis: aw }) : ws[0]);
        const loop = np.stack(xs.map((_, b) => f(bx ? xs[b] : xs[0], bw ? ws[b] : ws[0])));
        await expectClose(out, loop, EXACT, `${which} seed ${seed}`);
      }),
      { numRuns: runs(60) },
    );
  });

  it("vmap of grad gives per-example gradients equal to a loop", async () => {
    const rng = new Rng(21);
    const w = draw(rng, [4, 1, 3, 2]).dev;
    const xs = draw(rng, [3, 1, 2, 5, 4]).dev;
    const loss = (w: Array, x: Array) =>
      np.sum(
        np.square(
          convGeneralDilated(x, w, {
            strides: [2, 1],
            padding: [
              [1, 0],
              [0, 1],
            ],
            groups: 2,
          }),
        ),
      );
    const per = vmap(grad(loss), { inAxes: [null, 0] })(w, xs);
    for (let b = 0; b < 3; b++) await expectClose(per.slice(b), grad(loss)(w, xs.slice(b)), EXACT);
  });

  it("jit equals eager, for the value and for the gradient", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, async (seed) => {
        const rng = new Rng(seed);
        const { lhsShape, rhsShape, params } = randomConvConfig(rng);
        const x = draw(rng, lhsShape).dev;
        const w = draw(rng, rhsShape).dev;
        const f = (a: Array, b: Array) => convGeneralDilated(a, b, params);
        await expectClose(jit(f)(x, w), f(x, w), EXACT);
        const loss = (a: Array, b: Array) => np.sum(np.sin(f(a, b)));
        await expectClose(jit(grad(loss, { argnums: 1 }))(x, w), grad(loss, { argnums: 1 })(x, w), EXACT);
      }),
      { numRuns: runs(20) },
    );
  });
});

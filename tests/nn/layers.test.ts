import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, grad, jit, type Tracer } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import { Rng } from "../cases/types.ts";
import { maxDiffAsync, scalarOf } from "../helpers.ts";
import { FLOAT } from "../backend-under-test.ts";

const count = (t: unknown): number => {
  if (t === null || t === undefined) return 0;
  if (Array.isArray(t)) return t.reduce((n, x) => n + count(x), 0);
  if (typeof t === "object" && "size" in (t as object) && "dtype" in (t as object)) return (t as Tracer).size;
  return Object.values(t as object).reduce((n: number, x) => n + count(x), 0);
};

describe("layers against direct references", () => {
  it("dense computes x W^T + b with PyTorch's initialisation bounds", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), async (seed) => {
        const rng = new Rng(seed);
        const [n, i, o] = [rng.int(1, 4), rng.int(1, 6), rng.int(1, 5)];
        const layer = nn.dense(o);
        const { params, outputShape } = layer.init(random.key(seed), [n, i]);
        expect(outputShape).toEqual([n, o]);
        const bound = 1 / Math.sqrt(i);
        (await params.weight.data()).forEach((v: number) => expect(Math.abs(v)).toBeLessThanOrEqual(bound));
        const x = rng.array([n, i], "float32");
        const { y } = layer.apply(params, null, x);
        const W = (await params.weight.toArray()) as number[][];
        const b = await params.bias.data();
        const X = (await x.toArray()) as number[][];
        const want = X.map((row) => W.map((wr, k) => wr.reduce((s, wv, j) => s + wv * row[j], b[k])));
        expect(await maxDiffAsync(y, np.array(want))).toBeLessThan(1e-5);
      }),
      { numRuns: 20 },
    );
  });

  it("batchNorm: batch statistics in training, running averages (PyTorch momentum) in evaluation", async () => {
    // Rounding error of these O(1) statistics: float64 on the CPU, float32 on WebGPU (WGSL has no float64).
    const tol = FLOAT === "float32" ? 1e-6 : 1e-12;
    const rng = new Rng(4);
    const x = rng.array([6, 3, 2, 2], FLOAT, -2, 3);
    const bn = nn.batchNorm({ momentum: 0.1 });
    const { params, state } = bn.init(random.key(0), x.shape);
    const pf = { weight: params.weight.astype(FLOAT), bias: params.bias.astype(FLOAT) };
    const sf = { mean: state.mean.astype(FLOAT), var: state.var.astype(FLOAT) };
    const { y, state: s1 } = bn.apply(pf, sf, x, { train: true });
    // Per channel: zero mean and unit (biased) variance after normalisation.
    const m = np.mean(y, { axis: [0, 2, 3] });
    const v = np.var(y, { axis: [0, 2, 3] });
    expect(await maxDiffAsync(m, np.zeros([3], { dtype: FLOAT }))).toBeLessThan(tol);
    expect(await maxDiffAsync(v, np.ones([3], { dtype: FLOAT }))).toBeLessThan(1e-4);
    const n = 6 * 2 * 2;
    const batchMean = np.mean(x, { axis: [0, 2, 3] });
    const batchVarUnbiased = np.var(x, { axis: [0, 2, 3] }).mul(n / (n - 1));
    expect(await maxDiffAsync(s1.mean, batchMean.mul(0.1))).toBeLessThan(tol);
    expect(await maxDiffAsync(s1.var, batchVarUnbiased.mul(0.1).add(0.9))).toBeLessThan(tol);
    const { y: yEval, state: s2 } = bn.apply(pf, s1, x, { train: false });
    expect(s2).toBe(s1);
    const want = x.sub(s1.mean.reshape([1, 3, 1, 1])).div(np.sqrt(s1.var.add(1e-5)).reshape([1, 3, 1, 1]));
    expect(await maxDiffAsync(yEval, want)).toBeLessThan(tol);
  });

  it("batchNorm in float32 keeps its statistics when a channel's mean is large against its spread", async () => {
    // Channel means of 1e4 and -3e3, spreads of 1: E[x^2] - E[x]^2 unshifted would lose every digit in float32.
    const [n, c, hw] = [32, 2, 9];
    const rng = new Rng(9);
    const data = Float32Array.from({ length: n * c * hw }, (_, i) => (Math.floor(i / hw) % c === 0 ? 1e4 : -3e3) + rng.uniform(-1, 1));
    const x = np.array(data).reshape([n, c, 3, 3]);
    const bn = nn.batchNorm();
    const { params, state } = bn.init(random.key(0), x.shape);
    const { y, state: s1 } = bn.apply(params, state, x, { train: true });
    const got = await y.data();
    const vars = await s1.var.data();
    for (let ch = 0; ch < c; ch++) {
      const idx = Array.from({ length: n * hw }, (_, k) => (Math.floor(k / hw) * c + ch) * hw + (k % hw));
      const mean = idx.reduce((s, i) => s + data[i], 0) / idx.length;
      const v = idx.reduce((s, i) => s + (data[i] - mean) ** 2, 0) / idx.length;
      for (const i of idx) expect(Math.abs(got[i] - (data[i] - mean) / Math.sqrt(v + 1e-5))).toBeLessThan(2e-3);
      expect(Math.abs(vars[ch] - (0.9 + (0.1 * v * idx.length) / (idx.length - 1)))).toBeLessThan(1e-4);
    }
  });

  it("dropout: identity in evaluation; in training drops about `rate` and rescales; spatial dropout drops channels", async () => {
    const x = np.ones([50, 8, 4, 4]);
    const d = nn.dropout(0.3);
    expect(d.apply(null, null, x).y).toBe(x);
    expect(() => d.apply(null, null, x, { train: true })).toThrow(/needs a key/);
    const y = d.apply(null, null, x, { train: true, key: random.key(1) }).y;
    const kept = await scalarOf(np.mean(np.greater(y, 0).astype("float32")));
    expect(Math.abs(kept - 0.7)).toBeLessThan(0.02);
    expect(Math.abs((await scalarOf(np.mean(y))) - 1)).toBeLessThan(0.05);
    const ys = nn.spatialDropout(0.5).apply(null, null, x, { train: true, key: random.key(2) }).y;
    const perChannel = np.max(ys, { axis: [2, 3] }).sub(np.min(ys, { axis: [2, 3] }));
    expect(await scalarOf(np.max(perChannel))).toBe(0);
  });

  it("pooling, flatten and activations", async () => {
    const rng = new Rng(5);
    const x = rng.array([2, 3, 4, 6], "float32");
    const mp = nn.maxPool(2).apply(null, null, x).y;
    expect(mp.shape).toEqual([2, 3, 2, 3]);
    const X = (await x.toArray()) as number[][][][];
    expect(await mp.toArray()).toEqual(
      X.map((b) => b.map((c) => [0, 1].map((i) => [0, 1, 2].map((j) => Math.max(c[2 * i][2 * j], c[2 * i][2 * j + 1], c[2 * i + 1][2 * j], c[2 * i + 1][2 * j + 1]))))),
    );
    const ap = nn.avgPool(2).apply(null, null, x).y;
    expect(await maxDiffAsync(ap.slice(0, 0, 0, 0), np.mean(x.slice(0, 0, [0, 2], [0, 2])))).toBeLessThan(1e-6);
    expect(await maxDiffAsync(nn.globalAvgPool().apply(null, null, x).y, np.mean(x, { axis: [2, 3] }))).toBeLessThan(1e-6);
    expect(nn.flatten().apply(null, null, x).y.shape).toEqual([2, 72]);
    expect(await maxDiffAsync(nn.relu().apply(null, null, x).y, np.maximum(x, 0))).toBe(0);
    // As torch.relu: NaN passes through, and the gradient is 1 above 0, else 0 (0 at 0 itself).
    const edges = np.array([Number.NaN, -1, 0, 2], { dtype: FLOAT });
    expect(Number.isNaN((await nn.relu().apply(null, null, edges).y.data())[0])).toBe(true);
    const dRelu = grad((v: Tracer) => np.sum(nn.relu().apply(null, null, v).y))(edges.slice([1, null]));
    expect(Array.from(await dRelu.data())).toEqual([0, 0, 1]);
    expect(await maxDiffAsync(nn.leakyRelu(0.1).apply(null, null, x).y, np.where(x.greater(0), x, x.mul(0.1)))).toBe(0);
    const g = await nn
      .gelu()
      .apply(null, null, np.array([-1, 0, 1]))
      .y.data();
    expect(g[0]).toBeCloseTo(-0.158655, 5);
    expect(g[2]).toBeCloseTo(0.841345, 5);
  });

  it("conv2d matches a direct loop and its output shape", async () => {
    const rng = new Rng(9);
    const x = rng.array([2, 3, 5, 5], "float32");
    const layer = nn.conv2d(4, 3, { padding: 1 });
    const { params, outputShape } = layer.init(random.key(3), x.shape);
    expect(outputShape).toEqual([2, 4, 5, 5]);
    const { y } = layer.apply(params, null, x);
    const W = (await params.weight.toArray()) as number[][][][];
    const B = await params.bias.data();
    const X = (await x.toArray()) as number[][][][];
    const at = (n: number, c: number, i: number, j: number) => (i < 0 || j < 0 || i >= 5 || j >= 5 ? 0 : X[n][c][i][j]);
    const want = X.map((_, n) =>
      W.map((wo, o) =>
        [0, 1, 2, 3, 4].map((i) =>
          [0, 1, 2, 3, 4].map((j) => {
            let s = B[o];
            for (let c = 0; c < 3; c++) for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) s += wo[c][a][b] * at(n, c, i + a - 1, j + b - 1);
            return s;
          }),
        ),
      ),
    );
    expect(await maxDiffAsync(y, np.array(want))).toBeLessThan(1e-4);
  });
});

describe("models", () => {
  it("layer13 with k=128 has 3,993,482 trainable parameters", () => {
    const net = nn.models.layer13({ inChannels: 3, numClasses: 10, k: 128 });
    const { params, outputShape } = net.init(random.key(0), [1, 3, 32, 32]);
    expect(count(params)).toBe(3993482);
    expect(outputShape).toEqual([1, 10]);
  });

  it("smallConv trains: a jitted step lowers the loss on a fixed batch and gradients reach every parameter", async () => {
    const net = nn.models.smallConv({ inChannels: 1, numClasses: 3, k: 4 });
    const x = new Rng(1).array([6, 1, 8, 8], "float32");
    const y = np.array([0, 1, 2, 0, 1, 2], { dtype: "int32" });
    const init = net.init(random.key(0), x.shape);
    const lossFn = (p: unknown, s: unknown, key: Tracer) => {
      const { y: logits, state } = net.apply(p, s, x, { train: true, key });
      return [nn.crossEntropy(logits, y), state];
    };
    const vg = (p: unknown, s: unknown, key: Tracer) => {
      const [g, state] = grad(lossFn, { hasAux: true })(p, s, key);
      return { g, state };
    };
    let params = init.params;
    let state = init.state;
    const first = await scalarOf(lossFn(params, state, random.key(9))[0] as Tracer);
    const train = jit((p: unknown, s: unknown, k: Tracer) => {
      const { g, state } = vg(p, s, k);
      const next = (function update(a: unknown, b: unknown): unknown {
        if (a === null) return null;
        if (Array.isArray(a)) return a.map((v, i) => update(v, (b as unknown[])[i]));
        if (typeof a === "object" && !("dtype" in (a as object))) return Object.fromEntries(Object.entries(a as object).map(([k2, v]) => [k2, update(v, (b as Record<string, unknown>)[k2])]));
        return (a as Tracer).sub((b as Tracer).mul(0.1));
      })(p, g);
      return { next, state, g };
    });
    let grads: unknown;
    for (let i = 0; i < 15; i++) {
      const r = train(params, state, random.key(100 + i));
      params = r.next;
      state = r.state;
      grads = r.g;
    }
    const last = await scalarOf(lossFn(params, state, random.key(9))[0] as Tracer);
    expect(last).toBeLessThan(first);
    expect(count(grads)).toBe(count(params));
  });
});

describe("layer errors", () => {
  it("batchNorm without its state says to pass it", () => {
    const bn = nn.batchNorm();
    const { params } = bn.init(random.key(0), [2, 3, 4, 4]);
    expect(() => bn.apply(params, null, np.ones([2, 3, 4, 4]))).toThrow(/pass the `state` that init returned/);
  });
});

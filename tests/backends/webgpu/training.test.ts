/**
 * nn, optim and augerino on WebGPU: every layer's forward and gradient, and a jitted
 * Augerino train step (forward, backward to the network and the augmentation, Adam)
 * repeated for a few steps, agree with the same computations on the CPU.
 */
import { describe, expect, it } from "vitest";
import { grad, jit, np, random, tree, valueAndGrad, type Tracer } from "../../../index.ts";
import { NDArray } from "../../../core/array.ts";
import * as nn from "../../../nn/index.ts";
import * as optim from "../../../optim/index.ts";
import * as aug from "../../../augerino/index.ts";
import { Rng } from "../../cases/types.ts";
import { compareValues, gpuSkipReason, onGpu } from "./gpu.ts";

const toGpu = <T>(t: T): T => tree.map((x: Tracer) => onGpu(x), t as never) as T;

async function expectTreesClose(got: unknown, want: unknown, tol: number, what: string): Promise<void> {
  const g = tree.leaves(got) as NDArray[];
  const w = tree.leaves(want) as NDArray[];
  expect(g.length, `${what}: leaves`).toBe(w.length);
  for (let k = 0; k < w.length; k++) {
    expect(g[k].backend, `${what}: leaf ${k} backend`).toBe("webgpu");
    expect(g[k].shape, `${what}: leaf ${k} shape`).toEqual(w[k].shape);
    const msg = compareValues(await g[k].data(), w[k].dataSync(), w[k].dtype === "float32", tol);
    if (msg) expect.fail(`${what}: leaf ${k}: ${msg}`);
  }
}

const layers: [string, () => nn.Layer, number[]][] = [
  ["dense", () => nn.dense(5), [4, 7]],
  ["conv2d", () => nn.conv2d(4, 3), [2, 3, 9, 9]],
  ["conv2d stride 2 no bias", () => nn.conv2d(3, 3, { strides: 2, bias: false }), [2, 2, 8, 8]],
  ["batchNorm", () => nn.batchNorm(), [6, 3, 4, 4]],
  ["maxPool", () => nn.maxPool(2), [2, 3, 8, 8]],
  ["avgPool", () => nn.avgPool(2), [2, 3, 8, 8]],
  ["globalAvgPool", () => nn.globalAvgPool(), [2, 3, 5, 5]],
  ["dropout", () => nn.dropout(0.3), [4, 50]],
  ["spatialDropout", () => nn.spatialDropout(0.3), [4, 6, 3, 3]],
  ["gelu", () => nn.gelu(), [3, 8]],
  ["leakyRelu", () => nn.leakyRelu(0.1), [3, 8]],
];

describe.skipIf(gpuSkipReason !== null)("nn, optim and augerino on WebGPU", () => {
  for (const [name, make, shape] of layers) {
    it(`${name}: forward (training mode) and input/parameter gradients match the CPU`, async () => {
      const layer = make();
      const { params, state } = layer.init(random.key(1), shape);
      const x = new Rng(7).array(shape, "float32", -2, 2);
      const key = random.key(3);
      const f = (p: unknown, s: unknown, xx: Tracer, k: Tracer) => layer.apply(p, s, xx, { train: true, key: k }).y;
      const loss = (p: unknown, xx: Tracer, s: unknown, k: Tracer) => np.sum(np.sin(f(p, s, xx, k)));
      const want = f(params, state, x, key);
      const got = f(toGpu(params), toGpu(state), onGpu(x), onGpu(key));
      await expectTreesClose(got, want, 1e-4, `${name} forward`);
      const gw = grad(loss, { argnums: [0, 1] })(params, x, state, key);
      const gg = grad(loss, { argnums: [0, 1] })(toGpu(params), onGpu(x), toGpu(state), onGpu(key));
      await expectTreesClose(gg, gw, 1e-3, `${name} gradient`);
    });
  }

  // Plain SGD: Adam divides by the gradient's size, so parameters whose exact gradient is zero
  // (a conv bias before batch norm) move by +-lr on rounding noise alone.
  it("a jitted Augerino train step (smallConv k=16 on 28x28, 2 copies, SGD with momentum) tracks the CPU over 3 steps", async () => {
    const net = nn.models.smallConv({ k: 16, inChannels: 1, numClasses: 3, dropout: 0 });
    const init = net.init(random.key(0), [1, 1, 28, 28]);
    const apply = (w: unknown, x: Tracer) => net.apply(w, init.state, x, { train: true }).y;
    const dist = aug.uniformAffine({ initRaw: [-1, -1, 0.5, -1, -1, -1] });
    const tx = optim.sgd({ lr: 0.05, momentum: 0.9 });
    const rng = new Rng(11);
    const x = rng.array([4, 1, 28, 28], "float32", 0, 1);
    const y = np.array(new Int32Array([0, 1, 2, 0]));
    type P = { w: optim.Params; theta: Tracer };
    const step = jit((params: P, state: optim.OptState, key: Tracer, xs: Tracer, ys: Tracer) => {
      const [l, g] = valueAndGrad((q: P) => aug.loss(apply, q, key, xs, ys, { dist, nCopies: 2, lambda: 0.01 }))(params);
      const { updates, state: next } = tx.update(g, state, params);
      return { params: optim.applyUpdates(params, updates), state: next, loss: l, grads: g };
    });
    let cpu: { params: P; state: optim.OptState } = { params: { w: init.params, theta: dist.init() } as P, state: tx.init({ w: init.params, theta: dist.init() }) };
    let gpu = { params: toGpu(cpu.params), state: toGpu(cpu.state) };
    const [gx, gy] = [onGpu(x), onGpu(y)];
    for (let s = 0; s < 3; s++) {
      const key = random.key(100 + s);
      const a = step(cpu.params, cpu.state, key, x, y);
      const b = step(gpu.params, gpu.state, onGpu(key), gx, gy);
      await expectTreesClose(b.loss, a.loss, 1e-3, `step ${s} loss`);
      await expectTreesClose(b.grads, a.grads, 1e-3, `step ${s} gradients`);
      await expectTreesClose(b.params, a.params, 2e-3, `step ${s} params`);
      cpu = a;
      gpu = b;
    }
  });
});

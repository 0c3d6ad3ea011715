import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, grad, jit, valueAndGrad, tree, type Tracer } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import * as optim from "../../optim/index.ts";
import { Rng } from "../cases/types.ts";

describe("training", () => {
  it("a small MLP reaches >= 97% train accuracy on two interleaved spirals in a jitted loop", () => {
    const n = 200;
    const rng = new Rng(3);
    const pts: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = i % 2;
      const t = (i / n) * 3 * Math.PI + 0.5;
      pts.push([(t * Math.cos(t + c * Math.PI)) / 10 + rng.uniform(-0.02, 0.02), (t * Math.sin(t + c * Math.PI)) / 10 + rng.uniform(-0.02, 0.02)]);
      labels.push(c);
    }
    const x = np.array(pts);
    const y = np.array(labels, { dtype: "int32" });
    const net = nn.sequential(nn.dense(64), nn.relu(), nn.dense(64), nn.relu(), nn.dense(2));
    let params = net.init(random.key(0), [1, 2]).params;
    const tx = optim.adam({ lr: 1e-2 });
    let state = tx.init(params);
    const step = jit((p: unknown, s: optim.OptState) => {
      const [loss, g] = valueAndGrad((q: unknown) => nn.crossEntropy(net.apply(q, null, x).y, y))(p);
      const { updates, state: s2 } = tx.update(g, s, p as optim.Params);
      return { p: optim.applyUpdates(p, updates), s: s2, loss };
    });
    for (let i = 0; i < 600; i++) ({ p: params, s: state } = step(params, state));
    const acc = nn.accuracy(net.apply(params, null, x).y, y).item() as number;
    expect(acc).toBeGreaterThanOrEqual(0.97);
  });

  it("gradients through every layer match finite differences (float64)", () => {
    const layers: [string, nn.Layer, number[]][] = [
      ["dense", nn.dense(3), [4, 5]],
      ["conv2d", nn.conv2d(2, 3, { strides: 2, padding: 1 }), [2, 3, 5, 5]],
      ["batchNorm", nn.batchNorm(), [4, 3, 2, 2]],
      ["maxPool", nn.maxPool(2), [2, 2, 4, 4]],
      ["avgPool", nn.avgPool(2), [2, 2, 4, 4]],
      ["globalAvgPool", nn.globalAvgPool(), [2, 3, 3, 3]],
      ["flatten", nn.flatten(), [2, 3, 2]],
      ["relu", nn.relu(), [3, 4]],
      ["leakyRelu", nn.leakyRelu(0.2), [3, 4]],
      ["gelu", nn.gelu(), [3, 4]],
      ["dropout", nn.dropout(0.3), [3, 4]],
    ];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
        for (const [name, layer, shape] of layers) {
          const rng = new Rng(seed);
          const init = layer.init(random.key(seed), shape);
          const params = tree.map((p: Tracer) => p.astype("float64"), init.params);
          const state = tree.map((p: Tracer) => p.astype("float64"), init.state);
          const x = rng.array(shape);
          const ct = rng.array(init.outputShape);
          const f = (p: unknown, xv: Tracer) => np.sum(layer.apply(p, state, xv, { train: true, key: random.key(1) }).y.mul(ct));
          const [gp, gx] = grad(f, { argnums: [0, 1] })(params, x);
          const eps = 1e-6;
          const dx = rng.array(shape);
          const fdX = ((f(params, x.add(dx.mul(eps))).item() as number) - (f(params, x.sub(dx.mul(eps))).item() as number)) / (2 * eps);
          expect(Math.abs((np.sum(gx.mul(dx)).item() as number) - fdX), `${name} input`).toBeLessThan(1e-5 * (1 + Math.abs(fdX)));
          const leaves = tree.leaves(params) as Tracer[];
          if (leaves.length === 0) continue;
          const dirs = leaves.map((l) => rng.array(l.shape));
          const [dl, def] = tree.flatten(params);
          const shift = (s: number) => tree.unflatten(def, (dl as Tracer[]).map((l, i) => l.add(dirs[i].mul(s))));
          const fdP = ((f(shift(eps), x).item() as number) - (f(shift(-eps), x).item() as number)) / (2 * eps);
          const an = (tree.leaves(gp) as Tracer[]).reduce((acc, g, i) => acc + (np.sum(g.mul(dirs[i])).item() as number), 0);
          expect(Math.abs(an - fdP), `${name} params`).toBeLessThan(1e-5 * (1 + Math.abs(fdP)));
        }
      }),
      { numRuns: 8 },
    );
  });
});

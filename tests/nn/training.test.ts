import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, grad, jit, valueAndGrad, tree, type Tracer } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import * as optim from "../../optim/index.ts";
import { Rng } from "../cases/types.ts";
import type { NDArray } from "../../core/array.ts";
import { FLOAT, onCpu } from "../backend-under-test.ts";
import { scalarOf, settle } from "../helpers.ts";

/** A float64 copy of a pytree of float arrays on the CPU (the finite-difference reference's inputs). */
async function cpuFloat64<T>(t: T): Promise<T> {
  const [leaves, def] = tree.flatten<NDArray>(t as never);
  const moved = await Promise.all(leaves.map((l) => l.to("cpu")));
  return onCpu(() =>
    tree.unflatten(
      def,
      moved.map((l) => l.astype("float64")),
    ),
  ) as T;
}

/** sum(a * b) of two arrays on any backend, in JS doubles. */
async function dot(a: Tracer, b: Tracer): Promise<number> {
  const [u, v] = await Promise.all([a.data(), b.data()]);
  let s = 0;
  u.forEach((x: number, i: number) => (s += x * v[i]));
  return s;
}

describe("training", () => {
  it("a small MLP reaches >= 97% train accuracy on two interleaved spirals in a jitted loop", async () => {
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
    for (let i = 0; i < 600; i++) {
      ({ p: params, s: state } = step(params, state));
      // Lets the buffers of dropped arrays go (FinalizationRegistry runs only between tasks).
      if (i % 200 === 199) await settle();
    }
    const acc = await scalarOf(nn.accuracy(net.apply(params, null, x).y, y));
    expect(acc).toBeGreaterThanOrEqual(0.97);
  });

  // On the CPU everything is float64. On WebGPU (no float64) the gradients are float32 ones
  // computed there, against float64 central differences on the CPU at the same inputs.
  it("gradients through every layer match finite differences (float64)", async () => {
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
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), async (seed) => {
        for (const [name, layer, shape] of layers) {
          const rng = new Rng(seed);
          const init = layer.init(random.key(seed), shape);
          const params = tree.map((p: Tracer) => p.astype(FLOAT), init.params);
          const state = tree.map((p: Tracer) => p.astype(FLOAT), init.state);
          const x = rng.array(shape, FLOAT);
          const ct = rng.array(init.outputShape, FLOAT);
          const f = (p: unknown, xv: Tracer) => np.sum(layer.apply(p, state, xv, { train: true, key: random.key(1) }).y.mul(ct));
          const [gp, gx] = grad(f, { argnums: [0, 1] })(params, x);
          // The reference: f in float64 on the CPU.
          const [p64, s64, x64, ct64] = await cpuFloat64([params, state, x, ct]);
          const f64 = (p: unknown, xv: Tracer) => onCpu(() => np.sum(layer.apply(p, s64, xv, { train: true, key: random.key(1) }).y.mul(ct64)).item() as number);
          const eps = 1e-6;
          const dx = rng.array(shape, FLOAT);
          const dx64 = await cpuFloat64(dx);
          const fdX =
            (f64(
              p64,
              onCpu(() => x64.add(dx64.mul(eps))),
            ) -
              f64(
                p64,
                onCpu(() => x64.sub(dx64.mul(eps))),
              )) /
            (2 * eps);
          expect(Math.abs((await dot(gx, dx)) - fdX), `${name} input`).toBeLessThan(1e-5 * (1 + Math.abs(fdX)));
          const leaves = tree.leaves(params) as Tracer[];
          if (leaves.length === 0) continue;
          const dirs = leaves.map((l) => rng.array(l.shape, FLOAT));
          const dirs64 = await cpuFloat64(dirs);
          const [dl, def] = tree.flatten(p64);
          const shift = (s: number) =>
            onCpu(() =>
              tree.unflatten(
                def,
                (dl as Tracer[]).map((l, i) => l.add(dirs64[i].mul(s))),
              ),
            );
          const fdP = (f64(shift(eps), x64) - f64(shift(-eps), x64)) / (2 * eps);
          let an = 0;
          for (const [i, g] of (tree.leaves(gp) as Tracer[]).entries()) an += await dot(g, dirs[i]);
          expect(Math.abs(an - fdP), `${name} params`).toBeLessThan(1e-5 * (1 + Math.abs(fdP)));
        }
      }),
      { numRuns: 8 },
    );
  });
});

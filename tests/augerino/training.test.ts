import { describe, expect, it } from "vitest";
import { np, random, grad, jit, vmap, linalg, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import * as check from "../../testing/index.ts";
import * as optim from "../../optim/index.ts";
import { Rng } from "../cases/types.ts";
import { barTask } from "./bars.ts";
import { expectOnTestBackend, scalarOf } from "../helpers.ts";
import { FLOAT, onCpu, onWebgpu, pairOf } from "../backend-under-test.ts";
import type { NDArray } from "../../core/array.ts";

// Float64 on the CPU; float32 on WebGPU (WGSL has no float64).
const S = 9;
// A disc mask: content outside it never enters the frame, so rotations only permute it.
const yy = np
  .arange(S)
  .astype(FLOAT)
  .sub((S - 1) / 2)
  .reshape([S, 1]);
const xx = np
  .arange(S)
  .astype(FLOAT)
  .sub((S - 1) / 2)
  .reshape([1, S]);
const disc = np.lessEqual(np.add(np.square(yy), np.square(xx)), ((S - 1) / 2 - 0.5) ** 2).astype(FLOAT);

function images(seed: number, n: number): Tracer {
  return new Rng(seed).array([n, 1, S, S], FLOAT, 0, 1).mul(disc);
}

describe("Monte Carlo averaging", () => {
  it("the invariance error of predict falls as nCopies grows (64 copies well below 4)", async () => {
    const rng = new Rng(11);
    const w = rng.array([S * S, 3], FLOAT);
    const apply = (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w);
    const dist = aug.uniformAffine({ initWidth: [1e-6, 1e-6, 2 * Math.PI, 1e-6, 1e-6, 1e-6] });
    const params = { w, theta: dist.init().astype(FLOAT) };
    const x = images(3, 4);
    const rotations = check.groups.rotations2d();
    const err = async (n: number) => {
      // The mean change of the averaged predictions under two random rotations, the copies at a fixed key.
      const gapOf = (p: typeof params, k: Tracer, kg: Tracer) =>
        check.invarianceError((xx: Tracer) => aug.predict(apply, p, k, xx, { dist, nCopies: n }), rotations, x, { samples: 2, key: kg, reduce: "mean" }).mean;
      // Eager on the CPU. On WebGPU one compiled program per nCopies: eagerly, the 64 copies
      // are ~25,000 dispatches, 14 s on lavapipe.
      const gap = onWebgpu ? jit(gapOf) : gapOf;
      let total = 0;
      for (let s = 0; s < 6; s++) {
        const g = gap(params, random.key(100 + s), random.key(200 + s));
        expectOnTestBackend(g);
        total += await scalarOf(g);
      }
      return total / 6;
    };
    const e4 = await err(4);
    const e64 = await err(64);
    expect(e64).toBeLessThan(e4 / 2.5);
  });
});

function trainTheta(lossOf: (p: { w: Tracer; theta: Tracer }, key: Tracer) => Tracer, init: { w: Tracer; theta: Tracer }, steps: number): { w: Tracer; theta: Tracer } {
  const tx = optim.adam({ lr: 0.05 });
  const step = jit((p: { w: Tracer; theta: Tracer }, s: optim.OptState, key: Tracer) => {
    const g = grad(lossOf)(p, key);
    const { updates, state } = tx.update(g, s, p);
    return { p: optim.applyUpdates(p, updates), s: state };
  });
  let p = init;
  let s = tx.init(p);
  for (let i = 0; i < steps; i++) ({ p, s } = step(p, s, random.key(i)) as { p: typeof p; s: optim.OptState });
  return p;
}

describe("learning a width from data", () => {
  it("with a network invariant by construction (masked global pooling), training grows the rotation width", async () => {
    // The images fill only the central disc of radius 2.5 while the network pools over radius
    // 3.5, so bilinear samples of a rotated image stay inside the pooled disc. With content out
    // to the pooled edge, rotation loses mass there and the task loss alone pulls the width up
    // (24 times the regulariser's pull): the test would pass with lambda's sign flipped.
    const core = np.lessEqual(np.add(np.square(yy), np.square(xx)), 2.5 ** 2).astype(FLOAT);
    const x = images(5, 16).mul(core);
    const y = np.array(
      Array.from({ length: 16 }, (_, i) => i % 2),
      { dtype: "int32" },
    );
    // Pooled over the whole (masked) image: rotations leave the output unchanged, up to interpolation.
    const apply = (w: Tracer, x: Tracer) =>
      np
        .sum(x.mul(disc), { axis: [1, 2, 3] })
        .reshape([-1, 1])
        .mul(w);
    const dist = aug.uniformAffine({ initWidth: [0.01, 0.01, 0.5, 0.01, 0.01, 0.01] });
    const widthAfter = async (lambda: number) => {
      const init = { w: np.array([[1, -1]], { dtype: FLOAT }), theta: dist.init().astype(FLOAT) };
      const lossOf = (p: typeof init, key: Tracer) => aug.loss(apply, p, key, x, y, { dist, nCopies: 2, lambda });
      return (await dist.width(trainTheta(lossOf, init, 30).theta).data())[2];
    };
    const grown = await widthAfter(0.05);
    // The control, same keys without the regulariser: the interpolation's small residual pull
    // moves the width a little, so the regulariser must account for the difference.
    const control = await widthAfter(0);
    expect(grown).toBeGreaterThan(0.5 + 0.5);
    expect(grown - control).toBeGreaterThan(0.3);
  });

  it("when the targets depend on the rotation, training shrinks the rotation width", async () => {
    // A bar through the centre at angle a; the target is cos(2a) and sin(2a), which rotations change.
    const n = 24;
    const apply = (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w);
    // Fit the network first so the task loss is sensitive to the augmentation: a ridge
    // regression solved on the CPU in float64 (its normal equations have a condition number
    // near 1e5, too many digits for float32), then placed on the backend under test
    // (float32 on WebGPU), where all training runs.
    const [x, y, w0] = onCpu(() => {
      const { x, y } = barTask(n, S);
      const X = x.reshape([n, -1]);
      return [x, y, linalg.solve(np.matmul(X.T, X).add(np.eye(S * S, S * S, { dtype: "float64" }).mul(1e-3)), np.matmul(X.T, y))];
    }).map((a): Tracer => pairOf(a as NDArray).dev);
    const dist = aug.uniformAffine({ initWidth: [0.01, 0.01, 1.0, 0.01, 0.01, 0.01] });
    const init = { w: w0, theta: dist.init().astype(FLOAT) };
    const lossOf = (p: typeof init, key: Tracer) => aug.loss(apply, p, key, x, y, { dist, nCopies: 2, lambda: 0.001, task: "mse" });
    const p = trainTheta(lossOf, init, 40);
    expectOnTestBackend(p.theta);
    expect((await dist.width(p.theta).data())[2]).toBeLessThan(0.5);
  });
});

describe("aug.loss composes", () => {
  it("per-example losses with vmap equal a loop", async () => {
    const rng = new Rng(2);
    const w = rng.array([S * S, 3], FLOAT);
    const apply = (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w);
    const dist = aug.uniformAffine({ initWidth: 0.3 });
    const params = { w, theta: dist.init().astype(FLOAT) };
    const x = images(7, 3);
    const y = np.array([0, 2, 1], { dtype: "int32" });
    const per = vmap((xi: Tracer, yi: Tracer) => aug.loss(apply, params, random.key(1), xi.reshape([1, 1, S, S]), yi.reshape([1]), { dist, nCopies: 2 }))(x, y);
    for (let i = 0; i < 3; i++) {
      const one = aug.loss(apply, params, random.key(1), x.slice([i, i + 1]), y.slice([i, i + 1]), { dist, nCopies: 2 });
      // The same ops per example, batched or not: 1e-10 in float64; float32 on WebGPU, where
      // losses of order 1 agree to a few ulp (1e-5 leaves room for reordered sums).
      expect(Math.abs((await scalarOf(per.slice(i))) - (await scalarOf(one)))).toBeLessThan(onWebgpu ? 1e-5 : 1e-10);
    }
  });
});

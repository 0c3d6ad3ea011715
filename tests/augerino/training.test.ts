import { describe, expect, it } from "vitest";
import { np, random, grad, jit, vmap, linalg, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import * as optim from "../../optim/index.ts";
import { Rng } from "../cases/types.ts";
import { barTask } from "./bars.ts";

const S = 9;
// A disc mask: content outside it never enters the frame, so rotations only permute it.
const yy = np.arange(S).astype("float64").sub((S - 1) / 2).reshape([S, 1]);
const xx = np.arange(S).astype("float64").sub((S - 1) / 2).reshape([1, S]);
const disc = np.lessEqual(np.add(np.square(yy), np.square(xx)), ((S - 1) / 2 - 0.5) ** 2).astype("float64");

function images(seed: number, n: number): Tracer {
  return new Rng(seed).array([n, 1, S, S], "float64", 0, 1).mul(disc);
}

describe("Monte Carlo averaging", () => {
  it("the invariance error of predict falls as nCopies grows (64 copies well below 4)", () => {
    const rng = new Rng(11);
    const w = rng.array([S * S, 3]);
    const apply = (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w);
    const dist = aug.uniformAffine({ initWidth: [1e-6, 1e-6, 2 * Math.PI, 1e-6, 1e-6, 1e-6] });
    const params = { w, theta: dist.init().astype("float64") };
    const x = images(3, 4);
    const rot = (a: number) => np.broadcastTo(np.array([[Math.cos(a), -Math.sin(a), 0], [Math.sin(a), Math.cos(a), 0], [0, 0, 1]], { dtype: "float64" }), [4, 3, 3]);
    const hx = dist.apply(x, rot(0.7));
    const err = (n: number) => {
      let total = 0;
      for (let s = 0; s < 6; s++) {
        const a = aug.predict(apply, params, random.key(100 + s), x, { dist, nCopies: n });
        const b = aug.predict(apply, params, random.key(200 + s), hx, { dist, nCopies: n });
        total += np.mean(np.abs(a.sub(b))).item() as number;
      }
      return total / 6;
    };
    const e4 = err(4);
    const e64 = err(64);
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
  it("with a network invariant by construction (masked global pooling), training grows the rotation width", () => {
    // The images fill only the central disc of radius 2.5 while the network pools over radius
    // 3.5, so bilinear samples of a rotated image stay inside the pooled disc. With content out
    // to the pooled edge, rotation loses mass there and the task loss alone pulls the width up
    // (24 times the regulariser's pull): the test would pass with lambda's sign flipped.
    const core = np.lessEqual(np.add(np.square(yy), np.square(xx)), 2.5 ** 2).astype("float64");
    const x = images(5, 16).mul(core);
    const y = np.array(Array.from({ length: 16 }, (_, i) => i % 2), { dtype: "int32" });
    // Pooled over the whole (masked) image: rotations leave the output unchanged, up to interpolation.
    const apply = (w: Tracer, x: Tracer) => np.sum(x.mul(disc), { axis: [1, 2, 3] }).reshape([-1, 1]).mul(w);
    const dist = aug.uniformAffine({ initWidth: [0.01, 0.01, 0.5, 0.01, 0.01, 0.01] });
    const widthAfter = (lambda: number) => {
      const init = { w: np.array([[1, -1]], { dtype: "float64" }), theta: dist.init().astype("float64") };
      const lossOf = (p: typeof init, key: Tracer) => aug.loss(apply, p, key, x, y, { dist, nCopies: 2, lambda });
      return dist.width(trainTheta(lossOf, init, 30).theta).dataSync()[2];
    };
    const grown = widthAfter(0.05);
    // The control, same keys without the regulariser: the interpolation's small residual pull
    // moves the width a little, so the regulariser must account for the difference.
    const control = widthAfter(0);
    expect(grown).toBeGreaterThan(0.5 + 0.5);
    expect(grown - control).toBeGreaterThan(0.3);
  });

  it("when the targets depend on the rotation, training shrinks the rotation width", () => {
    // A bar through the centre at angle a; the target is cos(2a) and sin(2a), which rotations change.
    const n = 24;
    const { x, y } = barTask(n, S);
    const apply = (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w);
    // Fit the network first so the task loss is sensitive to the augmentation.
    const X = x.reshape([n, -1]);
    const w0 = linalg.solve(np.matmul(X.T, X).add(np.eye(S * S, S * S, { dtype: "float64" }).mul(1e-3)), np.matmul(X.T, y));
    const dist = aug.uniformAffine({ initWidth: [0.01, 0.01, 1.0, 0.01, 0.01, 0.01] });
    const init = { w: w0, theta: dist.init().astype("float64") };
    const lossOf = (p: typeof init, key: Tracer) => aug.loss(apply, p, key, x, y, { dist, nCopies: 2, lambda: 0.001, task: "mse" });
    const p = trainTheta(lossOf, init, 40);
    expect(dist.width(p.theta).dataSync()[2]).toBeLessThan(0.5);
  });
});

describe("aug.loss composes", () => {
  it("per-example losses with vmap equal a loop", () => {
    const rng = new Rng(2);
    const w = rng.array([S * S, 3]);
    const apply = (w: Tracer, x: Tracer) => np.matmul(x.reshape([x.shape[0], -1]), w);
    const dist = aug.uniformAffine({ initWidth: 0.3 });
    const params = { w, theta: dist.init().astype("float64") };
    const x = images(7, 3);
    const y = np.array([0, 2, 1], { dtype: "int32" });
    const per = vmap((xi: Tracer, yi: Tracer) => aug.loss(apply, params, random.key(1), xi.reshape([1, 1, S, S]), yi.reshape([1]), { dist, nCopies: 2 }))(x, y);
    for (let i = 0; i < 3; i++) {
      const one = aug.loss(apply, params, random.key(1), x.slice([i, i + 1]), y.slice([i, i + 1]), { dist, nCopies: 2 });
      expect(Math.abs((per.slice(i).item() as number) - (one.item() as number))).toBeLessThan(1e-10);
    }
  });
});

/**
 * Each optimiser against a direct JS implementation of its published update rule
 * (PyTorch's SGD / Adam / AdamW pseudo-code), run for several steps on random float64
 * pytrees with random gradients.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { random, tree, type Array } from "../../index.ts";
import * as optim from "../../optim/index.ts";

type Tree = { dense: { kernel: Array; bias: Array }; layers: (Array | null)[]; scale: Array };

/** A pytree with objects, a JS array, a null leaf and a scalar; values from the seed. */
function randomTree(seed: number): Tree {
  const k = [...random.split(random.key(seed), 4)];
  const n = (i: number, shape: number[]) => random.normal(k[i], shape, { dtype: "float64" });
  return { dense: { kernel: n(0, [3, 4]), bias: n(1, [4]) }, layers: [n(2, [5]), null], scale: n(3, []) };
}

/** Flat JS copies of a tree's leaves, the reference implementations' working format. */
const flat = (t: unknown): Float64Array[] => tree.leaves<Array>(t as never).map((l) => Float64Array.from(l.dataSync()));

function expectClose(got: unknown, want: Float64Array[], tol = 1e-12) {
  const g = flat(got);
  expect(g.length).toBe(want.length);
  g.forEach((a, i) => a.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i][j])))));
}

/** Runs `steps` optimiser steps with gradients drawn from the seed; returns every params iterate. */
function runOptimizer(tx: optim.GradientTransformation, seed: number, steps: number): { params: unknown[]; grads: Float64Array[][] } {
  let params: unknown = randomTree(seed);
  let state = tx.init(params as optim.Params);
  const out = [params];
  const grads: Float64Array[][] = [];
  for (let t = 0; t < steps; t++) {
    const g = randomTree(seed * 1000 + t + 1);
    grads.push(flat(g));
    const r = tx.update(g, state, params as optim.Params);
    state = r.state;
    params = optim.applyUpdates(params, r.updates);
    out.push(params);
  }
  return { params: out, grads };
}

/** torch.optim.SGD (dampening 0) step by step, with lr[t] the rate used at step t. */
function sgdReference(p0: Float64Array[], grads: Float64Array[][], lr: (t: number) => number, momentum: number, nesterov: boolean, weightDecay = 0) {
  const p = p0.map((a) => a.slice());
  const buf = p0.map((a) => new Float64Array(a.length));
  const iterates = [p.map((a) => a.slice())];
  grads.forEach((g, t) => {
    p.forEach((pi, i) => {
      for (let j = 0; j < pi.length; j++) {
        let d = g[i][j] + weightDecay * pi[j];
        if (momentum !== 0) {
          buf[i][j] = t === 0 ? d : momentum * buf[i][j] + d;
          d = nesterov ? d + momentum * buf[i][j] : buf[i][j];
        }
        pi[j] -= lr(t) * d;
      }
    });
    iterates.push(p.map((a) => a.slice()));
  });
  return iterates;
}

/** Kingma & Ba's Algorithm 1 with PyTorch's eps placement; `l2` adds wd*p to g (torch Adam), `decoupled` decays p (torch AdamW). */
function adamReference(p0: Float64Array[], grads: Float64Array[][], o: { lr: (t: number) => number; b1: number; b2: number; eps: number; l2?: number; decoupled?: number }) {
  const p = p0.map((a) => a.slice());
  const m = p0.map((a) => new Float64Array(a.length));
  const v = p0.map((a) => new Float64Array(a.length));
  const iterates = [p.map((a) => a.slice())];
  grads.forEach((g, t0) => {
    const t = t0 + 1;
    const lr = o.lr(t0);
    p.forEach((pi, i) => {
      for (let j = 0; j < pi.length; j++) {
        const gj = g[i][j] + (o.l2 ?? 0) * pi[j];
        if (o.decoupled) pi[j] *= 1 - lr * o.decoupled;
        m[i][j] = o.b1 * m[i][j] + (1 - o.b1) * gj;
        v[i][j] = o.b2 * v[i][j] + (1 - o.b2) * gj * gj;
        const mHat = m[i][j] / (1 - o.b1 ** t);
        const vHat = v[i][j] / (1 - o.b2 ** t);
        pi[j] -= (lr * mHat) / (Math.sqrt(vHat) + o.eps);
      }
    });
    iterates.push(p.map((a) => a.slice()));
  });
  return iterates;
}

const STEPS = 6;
const seeds = fc.integer({ min: 1, max: 10_000 });
const cosine = (t: number) => 0.05 * (0.5 * (1 + Math.cos((Math.PI * Math.min(t, 4)) / 4)) * 0.9 + 0.1);

describe("sgd", () => {
  it("plain SGD is p - lr g", () => {
    fc.assert(fc.property(seeds, fc.double({ min: 1e-3, max: 1, noNaN: true }), (seed, lr) => {
      const { params, grads } = runOptimizer(optim.sgd({ lr }), seed, STEPS);
      const ref = sgdReference(flat(params[0]), grads, () => lr, 0, false);
      params.forEach((p, t) => expectClose(p, ref[t]));
    }), { numRuns: 5 });
  });

  it("momentum and nesterov follow PyTorch's formulas", () => {
    fc.assert(fc.property(seeds, fc.double({ min: 0.1, max: 0.99, noNaN: true }), fc.boolean(), (seed, momentum, nesterov) => {
      const { params, grads } = runOptimizer(optim.sgd({ lr: 0.1, momentum, nesterov }), seed, STEPS);
      const ref = sgdReference(flat(params[0]), grads, () => 0.1, momentum, nesterov);
      params.forEach((p, t) => expectClose(p, ref[t]));
    }), { numRuns: 8 });
  });

  it("a scheduled learning rate uses schedule(0) on the first step", () => {
    const lr = optim.cosineDecay({ init: 0.05, decaySteps: 4, alpha: 0.1 });
    const { params, grads } = runOptimizer(optim.sgd({ lr, momentum: 0.9 }), 7, STEPS);
    const ref = sgdReference(flat(params[0]), grads, cosine, 0.9, false);
    params.forEach((p, t) => expectClose(p, ref[t]));
  });

  it("addDecayedWeights before sgd is PyTorch SGD's weight_decay", () => {
    const tx = optim.chain(optim.addDecayedWeights(0.01), optim.sgd({ lr: 0.1, momentum: 0.9 }));
    const { params, grads } = runOptimizer(tx, 3, STEPS);
    const ref = sgdReference(flat(params[0]), grads, () => 0.1, 0.9, false, 0.01);
    params.forEach((p, t) => expectClose(p, ref[t]));
  });
});

describe("adam", () => {
  const hyper = fc.record({
    lr: fc.double({ min: 1e-4, max: 0.1, noNaN: true }),
    b1: fc.double({ min: 0, max: 0.99, noNaN: true }),
    b2: fc.double({ min: 0.9, max: 0.9999, noNaN: true }),
    eps: fc.constantFrom(1e-8, 1e-3),
  });

  it("matches the textbook algorithm with bias correction", () => {
    fc.assert(fc.property(seeds, hyper, (seed, h) => {
      const { params, grads } = runOptimizer(optim.adam(h), seed, STEPS);
      const ref = adamReference(flat(params[0]), grads, { ...h, lr: () => h.lr });
      params.forEach((p, t) => expectClose(p, ref[t], 1e-10));
    }), { numRuns: 8 });
  });

  it("defaults are b1 0.9, b2 0.999, eps 1e-8", () => {
    const { params, grads } = runOptimizer(optim.adam({ lr: 1e-3 }), 11, STEPS);
    const ref = adamReference(flat(params[0]), grads, { lr: () => 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8 });
    params.forEach((p, t) => expectClose(p, ref[t], 1e-10));
  });

  it("addDecayedWeights before scaleByAdam is PyTorch Adam's L2 weight_decay", () => {
    const tx = optim.chain(optim.addDecayedWeights(0.05), optim.adam({ lr: 0.01 }));
    const { params, grads } = runOptimizer(tx, 5, STEPS);
    const ref = adamReference(flat(params[0]), grads, { lr: () => 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, l2: 0.05 });
    params.forEach((p, t) => expectClose(p, ref[t], 1e-10));
  });

  it("adam with a schedule", () => {
    const lr = optim.cosineDecay({ init: 0.05, decaySteps: 4, alpha: 0.1 });
    const { params, grads } = runOptimizer(optim.adam({ lr }), 13, STEPS);
    const ref = adamReference(flat(params[0]), grads, { lr: cosine, b1: 0.9, b2: 0.999, eps: 1e-8 });
    params.forEach((p, t) => expectClose(p, ref[t], 1e-10));
  });
});

describe("adamw", () => {
  it("decays weights decoupled from the moments, as torch.optim.AdamW", () => {
    fc.assert(fc.property(seeds, fc.double({ min: 0, max: 0.5, noNaN: true }), (seed, wd) => {
      const { params, grads } = runOptimizer(optim.adamw({ lr: 0.02, weightDecay: wd }), seed, STEPS);
      const ref = adamReference(flat(params[0]), grads, { lr: () => 0.02, b1: 0.9, b2: 0.999, eps: 1e-8, decoupled: wd });
      params.forEach((p, t) => expectClose(p, ref[t], 1e-10));
    }), { numRuns: 6 });
  });

  it("weightDecay defaults to optax's 1e-4", () => {
    const { params, grads } = runOptimizer(optim.adamw({ lr: 0.5 }), 17, STEPS);
    const ref = adamReference(flat(params[0]), grads, { lr: () => 0.5, b1: 0.9, b2: 0.999, eps: 1e-8, decoupled: 1e-4 });
    params.forEach((p, t) => expectClose(p, ref[t], 1e-10));
  });
});

describe("dtypes and state", () => {
  it("float32 params stay float32 and track the float64 run", () => {
    const p64 = randomTree(21);
    const p32 = tree.map((x: Array) => x.astype("float32"), p64);
    const g64 = randomTree(22);
    const g32 = tree.map((x: Array) => x.astype("float32"), g64);
    const tx = optim.adamw({ lr: optim.warmupCosine({ peak: 0.1, warmupSteps: 2, decaySteps: 10 }) });
    const step = (p: unknown, g: unknown, s: optim.OptState) => {
      const r = tx.update(g as optim.Updates, s, p as optim.Params);
      return [optim.applyUpdates(p, r.updates), r.state] as const;
    };
    let [a, sa] = [p64 as unknown, tx.init(p64)];
    let [b, sb] = [p32 as unknown, tx.init(p32)];
    for (let t = 0; t < 4; t++) {
      [a, sa] = step(a, g64, sa);
      [b, sb] = step(b, g32, sb);
    }
    for (const l of tree.leaves<Array>(b as never)) expect(l.dtype).toBe("float32");
    expectClose(b, flat(a), 1e-5);
  });

  it("the step count is an int32 scalar array in the state", () => {
    const tx = optim.adam({ lr: 0.1 });
    let s = tx.init(randomTree(1));
    for (let t = 0; t < 3; t++) s = tx.update(randomTree(2), s).state;
    const count = (s as { count: Array }[])[0].count;
    expect(count.dtype).toBe("int32");
    expect(count.shape).toEqual([]);
    expect(count.item()).toBe(3);
  });

  it("addDecayedWeights without params says what to pass", () => {
    const tx = optim.adamw({ lr: 0.1 });
    expect(() => tx.update(randomTree(2), tx.init(randomTree(1)))).toThrow(/needs params/);
  });
});

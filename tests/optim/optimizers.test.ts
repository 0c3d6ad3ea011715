/**
 * Each optimiser against a direct JS implementation of its published update rule
 * (PyTorch's SGD / Adam / AdamW pseudo-code, in float64), run for several steps on random
 * pytrees with random gradients: float64 ones on the CPU, float32 ones on WebGPU.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { random, tree, type Array } from "../../index.ts";
import * as optim from "../../optim/index.ts";
import { FLOAT, onCpu, toTestBackend } from "../backend-under-test.ts";
import { expectTreeClose, leavesData, scalarOf } from "../helpers.ts";

type Tree = { dense: { kernel: Array; bias: Array }; layers: (Array | null)[]; scale: Array };

/** A pytree with objects, a JS array, a null leaf and a scalar; values from the seed. */
function randomTree(seed: number, dtype = FLOAT): Tree {
  const k = [...random.split(random.key(seed), 4)];
  const n = (i: number, shape: number[]) => random.normal(k[i], shape, { dtype });
  return { dense: { kernel: n(0, [3, 4]), bias: n(1, [4]) }, layers: [n(2, [5]), null], scale: n(3, []) };
}

/** Runs `steps` optimiser steps with gradients drawn from the seed; returns every params iterate. */
async function runOptimizer(tx: optim.GradientTransformation, seed: number, steps: number): Promise<{ params: unknown[]; grads: Float64Array[][] }> {
  let params: unknown = randomTree(seed);
  let state = tx.init(params as optim.Params);
  const out = [params];
  const grads: Float64Array[][] = [];
  for (let t = 0; t < steps; t++) {
    const g = randomTree(seed * 1000 + t + 1);
    grads.push(await leavesData(g));
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

/**
 * Kingma & Ba's Algorithm 1 with PyTorch's eps placement; `l2` adds wd*p to g (torch Adam),
 * `decoupled` decays p (torch AdamW). Returns the iterates and, per element, the rounding
 * slack of the run's bias corrections (see ULP).
 */
function adamReference(p0: Float64Array[], grads: Float64Array[][], o: { lr: (t: number) => number; b1: number; b2: number; eps: number; l2?: number; decoupled?: number }) {
  const p = p0.map((a) => a.slice());
  const m = p0.map((a) => new Float64Array(a.length));
  const v = p0.map((a) => new Float64Array(a.length));
  const iterates = [p.map((a) => a.slice())];
  const s = p0.map((a) => new Float64Array(a.length));
  const slack = [s.map((a) => a.slice())];
  grads.forEach((g, t0) => {
    const t = t0 + 1;
    const lr = o.lr(t0);
    const [c1, c2] = [1 - o.b1 ** t, 1 - o.b2 ** t];
    p.forEach((pi, i) => {
      for (let j = 0; j < pi.length; j++) {
        const gj = g[i][j] + (o.l2 ?? 0) * pi[j];
        if (o.decoupled) pi[j] *= 1 - lr * o.decoupled;
        m[i][j] = o.b1 * m[i][j] + (1 - o.b1) * gj;
        v[i][j] = o.b2 * v[i][j] + (1 - o.b2) * gj * gj;
        const step = (lr * m[i][j]) / c1 / (Math.sqrt(v[i][j] / c2) + o.eps);
        pi[j] -= step;
        s[i][j] += Math.abs(step) * 2 * ULP * (1 / c1 + 1 / c2);
      }
    });
    iterates.push(p.map((a) => a.slice()));
    slack.push(s.map((a) => a.slice()));
  });
  return { iterates, slack };
}

/**
 * Relative errors allowed against the float64 references: float64 runs agree to rounding;
 * float32 runs (the WebGPU project: WGSL has no float64) to a few float32 ulps per step.
 */
const TOL = FLOAT === "float32" ? { sgd: 1e-6, adam: 1e-6 } : { sgd: 1e-12, adam: 1e-10 };
/**
 * Plus, for Adam, the bias corrections 1 - b^t: computed in the run's dtype they keep only
 * the bits of b^t below 1 (b and b^t each rounded: up to 2 ulps), so each step's direction
 * may be off by ~2 ulp/(1 - b^t) relative; adamReference sums that per element as its slack
 * (negligible in float64, large in float32 for b2 near 1: ~1e-4 of the step at b2 = 0.999).
 */
const ULP = FLOAT === "float32" ? 2 ** -23 : 2 ** -52;
const STEPS = 6;
const seeds = fc.integer({ min: 1, max: 10_000 });
const cosine = (t: number) => 0.05 * (0.5 * (1 + Math.cos((Math.PI * Math.min(t, 4)) / 4)) * 0.9 + 0.1);

describe("sgd", () => {
  it("plain SGD is p - lr g", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.double({ min: 1e-3, max: 1, noNaN: true }), async (seed, lr) => {
        const { params, grads } = await runOptimizer(optim.sgd({ lr }), seed, STEPS);
        const ref = sgdReference(await leavesData(params[0]), grads, () => lr, 0, false);
        for (const [t, p] of params.entries()) await expectTreeClose(p, ref[t], TOL.sgd);
      }),
      { numRuns: 5 },
    );
  });

  it("momentum and nesterov follow PyTorch's formulas", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.double({ min: 0.1, max: 0.99, noNaN: true }), fc.boolean(), async (seed, momentum, nesterov) => {
        const { params, grads } = await runOptimizer(optim.sgd({ lr: 0.1, momentum, nesterov }), seed, STEPS);
        const ref = sgdReference(await leavesData(params[0]), grads, () => 0.1, momentum, nesterov);
        for (const [t, p] of params.entries()) await expectTreeClose(p, ref[t], TOL.sgd);
      }),
      { numRuns: 8 },
    );
  });

  it("a scheduled learning rate uses schedule(0) on the first step", async () => {
    const lr = optim.cosineDecay({ init: 0.05, decaySteps: 4, alpha: 0.1 });
    const { params, grads } = await runOptimizer(optim.sgd({ lr, momentum: 0.9 }), 7, STEPS);
    const ref = sgdReference(await leavesData(params[0]), grads, cosine, 0.9, false);
    for (const [t, p] of params.entries()) await expectTreeClose(p, ref[t], TOL.sgd);
  });

  it("addDecayedWeights before sgd is PyTorch SGD's weight_decay", async () => {
    const tx = optim.chain(optim.addDecayedWeights(0.01), optim.sgd({ lr: 0.1, momentum: 0.9 }));
    const { params, grads } = await runOptimizer(tx, 3, STEPS);
    const ref = sgdReference(await leavesData(params[0]), grads, () => 0.1, 0.9, false, 0.01);
    for (const [t, p] of params.entries()) await expectTreeClose(p, ref[t], TOL.sgd);
  });
});

describe("adam", () => {
  const hyper = fc.record({
    lr: fc.double({ min: 1e-4, max: 0.1, noNaN: true }),
    b1: fc.double({ min: 0, max: 0.99, noNaN: true }),
    b2: fc.double({ min: 0.9, max: 0.9999, noNaN: true }),
    eps: fc.constantFrom(1e-8, 1e-3),
  });

  it("matches the textbook algorithm with bias correction", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, hyper, async (seed, h) => {
        const { params, grads } = await runOptimizer(optim.adam(h), seed, STEPS);
        const ref = adamReference(await leavesData(params[0]), grads, { ...h, lr: () => h.lr });
        for (const [t, p] of params.entries()) await expectTreeClose(p, ref.iterates[t], TOL.adam, ref.slack[t]);
      }),
      { numRuns: 8 },
    );
  });

  it("defaults are b1 0.9, b2 0.999, eps 1e-8", async () => {
    const { params, grads } = await runOptimizer(optim.adam({ lr: 1e-3 }), 11, STEPS);
    const ref = adamReference(await leavesData(params[0]), grads, { lr: () => 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8 });
    for (const [t, p] of params.entries()) await expectTreeClose(p, ref.iterates[t], TOL.adam, ref.slack[t]);
  });

  it("addDecayedWeights before scaleByAdam is PyTorch Adam's L2 weight_decay", async () => {
    const tx = optim.chain(optim.addDecayedWeights(0.05), optim.adam({ lr: 0.01 }));
    const { params, grads } = await runOptimizer(tx, 5, STEPS);
    const ref = adamReference(await leavesData(params[0]), grads, { lr: () => 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, l2: 0.05 });
    for (const [t, p] of params.entries()) await expectTreeClose(p, ref.iterates[t], TOL.adam, ref.slack[t]);
  });

  it("adam with a schedule", async () => {
    const lr = optim.cosineDecay({ init: 0.05, decaySteps: 4, alpha: 0.1 });
    const { params, grads } = await runOptimizer(optim.adam({ lr }), 13, STEPS);
    const ref = adamReference(await leavesData(params[0]), grads, { lr: cosine, b1: 0.9, b2: 0.999, eps: 1e-8 });
    for (const [t, p] of params.entries()) await expectTreeClose(p, ref.iterates[t], TOL.adam, ref.slack[t]);
  });
});

describe("adamw", () => {
  it("decays weights decoupled from the moments, as torch.optim.AdamW", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.double({ min: 0, max: 0.5, noNaN: true }), async (seed, wd) => {
        const { params, grads } = await runOptimizer(optim.adamw({ lr: 0.02, weightDecay: wd }), seed, STEPS);
        const ref = adamReference(await leavesData(params[0]), grads, { lr: () => 0.02, b1: 0.9, b2: 0.999, eps: 1e-8, decoupled: wd });
        for (const [t, p] of params.entries()) await expectTreeClose(p, ref.iterates[t], TOL.adam, ref.slack[t]);
      }),
      { numRuns: 6 },
    );
  });

  it("weightDecay defaults to optax's 1e-4", async () => {
    const { params, grads } = await runOptimizer(optim.adamw({ lr: 0.5 }), 17, STEPS);
    const ref = adamReference(await leavesData(params[0]), grads, { lr: () => 0.5, b1: 0.9, b2: 0.999, eps: 1e-8, decoupled: 1e-4 });
    for (const [t, p] of params.entries()) await expectTreeClose(p, ref.iterates[t], TOL.adam, ref.slack[t]);
  });
});

describe("dtypes and state", () => {
  it("float32 params stay float32 and track the float64 run", async () => {
    // The float64 run is on the CPU (WebGPU has none); the float32 one on the backend under test.
    const [p64, g64] = onCpu(() => [randomTree(21, "float64"), randomTree(22, "float64")]);
    const p32 = await toTestBackend(tree.map((x: Array) => x.astype("float32"), p64));
    const g32 = await toTestBackend(tree.map((x: Array) => x.astype("float32"), g64));
    const tx = optim.adamw({ lr: optim.warmupCosine({ peak: 0.1, warmupSteps: 2, decaySteps: 10 }) });
    const step = (p: unknown, g: unknown, s: optim.OptState) => {
      const r = tx.update(g as optim.Updates, s, p as optim.Params);
      return [optim.applyUpdates(p, r.updates), r.state] as const;
    };
    let [a, sa] = [p64 as unknown, onCpu(() => tx.init(p64))];
    let [b, sb] = [p32 as unknown, tx.init(p32)];
    for (let t = 0; t < 4; t++) {
      [a, sa] = onCpu(() => step(a, g64, sa));
      [b, sb] = step(b, g32, sb);
    }
    for (const l of tree.leaves<Array>(b as never)) expect(l.dtype).toBe("float32");
    await expectTreeClose(b, await leavesData(a), 1e-5);
  });

  it("the step count is an int32 scalar array in the state", async () => {
    const tx = optim.adam({ lr: 0.1 });
    let s = tx.init(randomTree(1));
    for (let t = 0; t < 3; t++) s = tx.update(randomTree(2), s).state;
    const count = (s as { count: Array }[])[0].count;
    expect(count.dtype).toBe("int32");
    expect(count.shape).toEqual([]);
    expect(await scalarOf(count)).toBe(3);
  });

  it("addDecayedWeights without params says what to pass", () => {
    const tx = optim.adamw({ lr: 0.1 });
    expect(() => tx.update(randomTree(2), tx.init(randomTree(1)))).toThrow(/needs params/);
  });
});

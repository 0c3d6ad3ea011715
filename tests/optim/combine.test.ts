/**
 * Composition (chain, multiTransform), clipping, jit of whole train steps (= eager),
 * and convergence on problems with known minima. In float64 on the CPU; in float32 on
 * WebGPU (WGSL has no float64), with float32 tolerances.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, tree, jit, grad, valueAndGrad, type Array } from "../../index.ts";
import * as optim from "../../optim/index.ts";
import { FLOAT } from "../backend-under-test.ts";
import { expectTreeClose, leavesData, scalarOf, settle } from "../helpers.ts";

/** Relative error of results that should agree to rounding: float64, or float32 (a few ulps). */
const ROUNDING = FLOAT === "float32" ? 1e-6 : 1e-12;

const normal = (seed: number, shape: number[]) => random.normal(random.key(seed), shape, { dtype: FLOAT });
const flat = async (t: unknown): Promise<number[]> => (await leavesData(t)).flatMap((d) => [...d]);

/** Runs a transformation for `steps` steps with gradients from `gradOf(params, t)`. */
function run(tx: optim.GradientTransformation, params: unknown, steps: number, gradOf: (p: unknown, t: number) => unknown) {
  let state = tx.init(params as optim.Params);
  for (let t = 0; t < steps; t++) {
    const r = tx.update(gradOf(params, t) as optim.Updates, state, params as optim.Params);
    state = r.state;
    params = optim.applyUpdates(params, r.updates);
  }
  return { params, state };
}

describe("chain", () => {
  it("chain(scaleByAdam, scale(-lr)) is adam; chaining is associative", async () => {
    const p = { a: normal(1, [4]), b: [normal(2, [2, 2])] };
    const g = (_p: unknown, t: number) => ({ a: normal(10 + t, [4]), b: [normal(20 + t, [2, 2])] });
    const ref = run(optim.adam({ lr: 0.01 }), p, 5, g).params;
    await expectTreeClose(run(optim.chain(optim.scaleByAdam(), optim.scale(-0.01)), p, 5, g).params, ref, ROUNDING);
    const clip = optim.clipByGlobalNorm(0.5);
    const left = optim.chain(optim.chain(clip, optim.scaleByAdam()), optim.scaleByLearningRate(0.01));
    const right = optim.chain(clip, optim.chain(optim.scaleByAdam(), optim.scaleByLearningRate(0.01)));
    await expectTreeClose(run(left, p, 5, g).params, run(right, p, 5, g).params, ROUNDING);
  });

  it("says when it is given another transformation's state", () => {
    const tx = optim.chain(optim.scaleByAdam(), optim.scale(-1));
    expect(() => tx.update({ a: np.ones([2]) }, {}, undefined)).toThrow(/chain: expected the state of 2 transformations/);
  });
});

describe("clipByGlobalNorm", () => {
  it("keeps directions and caps the global norm at maxNorm", async () => {
    // The norm to 10 decimals in float64; in float32 to a few ulps (relative: it reaches ~35).
    const normClose = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(FLOAT === "float32" ? 1e-6 * want : 5e-11);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1000 }), fc.double({ min: 0.01, max: 10, noNaN: true }), fc.double({ min: 0.1, max: 5, noNaN: true }), async (seed, size, maxNorm) => {
        const u = { x: normal(seed, [3, 2]).mul(size), y: [normal(seed + 1, [5]).mul(size), null], z: normal(seed + 2, []) };
        const norm = Math.sqrt((await flat(u)).reduce((s, v) => s + v * v, 0));
        normClose(await scalarOf(optim.globalNorm(u)), norm);
        const tx = optim.clipByGlobalNorm(maxNorm);
        const { updates } = tx.update(u, tx.init(u));
        const factor = norm < maxNorm ? 1 : maxNorm / norm;
        await expectTreeClose(
          updates,
          tree.map((l: Array) => l.mul(factor), u),
          ROUNDING,
        );
        normClose(await scalarOf(optim.globalNorm(updates)), Math.min(norm, maxNorm));
      }),
      { numRuns: 20 },
    );
  });
});

describe("multiTransform", () => {
  const params = () => ({ w: { kernel: normal(1, [3, 2]), bias: normal(2, [2]) }, theta: normal(3, [6]) });
  const grads = (_p: unknown, t: number) => ({ w: { kernel: normal(100 + t, [3, 2]), bias: normal(200 + t, [2]) }, theta: normal(300 + t, [6]) });

  it("gives w and theta their own settings (weight decay on w only) through a label prefix", async () => {
    const tx = optim.multiTransform({ w: optim.adamw({ lr: 0.01, weightDecay: 0.3 }), theta: optim.adam({ lr: 0.05 }) }, () => ({ w: "w", theta: "theta" }));
    const got = run(tx, params(), 6, grads).params as ReturnType<typeof params>;
    // Each group alone, with the group's own optimiser.
    const w = run(optim.adamw({ lr: 0.01, weightDecay: 0.3 }), params().w, 6, (p, t) => grads(p, t).w).params;
    const theta = run(optim.adam({ lr: 0.05 }), params().theta, 6, (p, t) => grads(p, t).theta).params;
    await expectTreeClose(got.w, w, ROUNDING);
    await expectTreeClose(got.theta, theta, ROUNDING);
    // And the decay matters: without it w differs (by ~1e-2, far above float32 rounding).
    const noDecay = await flat(run(optim.adam({ lr: 0.01 }), params().w, 6, (p, t) => grads(p, t).w).params);
    expect(Math.max(...(await flat(got.w)).map((v, i) => Math.abs(v - noDecay[i])))).toBeGreaterThan(1e-4);
  });

  it("takes per-leaf labels and fixed label trees; each state holds only its group", async () => {
    const labels = { w: { kernel: "decay", bias: "plain" }, theta: "plain" };
    const tx = optim.multiTransform({ decay: optim.adamw({ lr: 0.01, weightDecay: 0.3 }), plain: optim.adam({ lr: 0.01 }) }, labels);
    const got = run(tx, params(), 4, grads);
    const p = got.params as ReturnType<typeof params>;
    const kernel = run(optim.adamw({ lr: 0.01, weightDecay: 0.3 }), params().w.kernel, 4, (q, t) => grads(q, t).w.kernel).params;
    const bias = run(optim.adam({ lr: 0.01 }), params().w.bias, 4, (q, t) => grads(q, t).w.bias).params;
    await expectTreeClose(p.w.kernel, kernel, ROUNDING);
    await expectTreeClose(p.w.bias, bias, ROUNDING);
    const s = got.state as Record<string, unknown>;
    expect(tree.leaves(s.decay).length).toBe(1 + 2 * 1); // count, mu, nu of the kernel (the scale stage has no state)
    expect(tree.leaves(s.plain).length).toBe(1 + 2 * 2);
  });

  it("names a label that has no transformation", () => {
    const tx = optim.multiTransform({ w: optim.sgd({ lr: 1 }) }, { w: "w", theta: "frozen" });
    expect(() => tx.init(params())).toThrow(/label "frozen" has no transformation; the transformations are \{w\}/);
  });
});

describe("jit", () => {
  // A small regression net; jit and eager must agree to rounding (float64 on the CPU, float32 on WebGPU).
  const x = normal(7, [8, 3]);
  const y = normal(8, [8, 1]);
  const loss = (p: { w: { k1: Array; k2: Array }; theta: Array }) => np.mean(np.square(np.matmul(np.tanh(np.matmul(x.mul(p.theta), p.w.k1)), p.w.k2).sub(y)));
  const init = () => ({ w: { k1: normal(1, [3, 4]), k2: normal(2, [4, 1]) }, theta: normal(3, [3]) });
  const txs: Record<string, () => optim.GradientTransformation> = {
    "sgd nesterov + piecewise lr": () => optim.sgd({ lr: optim.piecewiseConstant({ init: 0.1, boundaries: { 3: 0.5 } }), momentum: 0.9, nesterov: true }),
    "clip + adamw + warmupCosine": () => optim.chain(optim.clipByGlobalNorm(0.5), optim.adamw({ lr: optim.warmupCosine({ peak: 0.05, warmupSteps: 2, decaySteps: 8 }), weightDecay: 0.1 })),
    "multiTransform (augerino-style)": () =>
      optim.multiTransform(
        { w: optim.chain(optim.addDecayedWeights(1e-3), optim.adam({ lr: 0.01 })), theta: optim.adam({ lr: optim.cosineDecay({ init: 0.05, decaySteps: 5 }) }) },
        { w: "w", theta: "theta" },
      ),
  };

  for (const [name, make] of Object.entries(txs)) {
    it(`a jitted train step equals the eager one: ${name}`, async () => {
      const tx = make();
      const step = (p: ReturnType<typeof init>, s: optim.OptState) => {
        const [l, g] = valueAndGrad(loss)(p);
        const { updates, state } = tx.update(g, s, p);
        return { params: optim.applyUpdates(p, updates), state, loss: l };
      };
      const jitted = jit(step);
      let [pe, se] = [init(), tx.init(init())];
      let [pj, sj] = [init(), tx.init(init())];
      for (let t = 0; t < 7; t++) {
        const e = step(pe, se);
        const j = jitted(pj, sj);
        await expectTreeClose(j.loss, e.loss, ROUNDING);
        [pe, se, pj, sj] = [e.params, e.state, j.params, j.state];
        await expectTreeClose(pj, pe, ROUNDING);
        await expectTreeClose(sj, se, ROUNDING);
      }
      // The step count is traced, not baked in: one compilation serves every step.
      expect(jitted.cacheSize()).toBe(1);
      expect(await scalarOf(loss(pj))).toBeLessThan(await scalarOf(loss(init())));
    });
  }
});

describe("convergence", () => {
  // Long loops let the event loop run now and then (settle): only there are the buffers of
  // dropped arrays released (FinalizationRegistry), and on WebGPU thousands of steps
  // without that pile up tens of thousands of device buffers (lavapipe crashes past ~60,000).
  it("sgd with momentum and adam minimise a quadratic 0.5 x'Ax - b'x to A^-1 b", async () => {
    const A = np.array(
      [
        [3, 1, 0],
        [1, 2, 0.5],
        [0, 0.5, 1],
      ],
      { dtype: FLOAT },
    );
    const b = np.array([1, -2, 0.5], { dtype: FLOAT });
    const f = (x: Array) =>
      np
        .sum(x.mul(np.matmul(A, x)))
        .mul(0.5)
        .sub(np.sum(b.mul(x)));
    const xStar = [16 / 17, -31 / 17, 24 / 17]; // solves A x = b
    for (const tx of [optim.sgd({ lr: 0.1, momentum: 0.9 }), optim.adam({ lr: optim.cosineDecay({ init: 0.1, decaySteps: 600, alpha: 0.01 }) })]) {
      const step = jit((x: Array, s: optim.OptState) => {
        const { updates, state } = tx.update(grad(f)(x), s, x);
        return [optim.applyUpdates(x, updates), state] as const;
      });
      let x = np.zeros([3], { dtype: FLOAT });
      let s = tx.init(x);
      for (let t = 0; t < 600; t++) {
        [x, s] = step(x, s);
        if (t % 500 === 499) await settle();
      }
      [...(await x.data())].forEach((v, i) => expect(v).toBeCloseTo(xStar[i], 4));
    }
  });

  it("adam finds the Rosenbrock minimum (1, 1)", async () => {
    const f = (p: { x: Array; y: Array }) => np.square(np.sub(1, p.x)).add(np.square(p.y.sub(np.square(p.x))).mul(100));
    const tx = optim.chain(optim.clipByGlobalNorm(10), optim.adam({ lr: optim.piecewiseConstant({ init: 0.02, boundaries: { 2000: 0.1 } }) }));
    const step = jit((p: { x: Array; y: Array }, s: optim.OptState) => {
      const { updates, state } = tx.update(grad(f)(p), s, p);
      return [optim.applyUpdates(p, updates), state] as const;
    });
    let p = { x: np.array(-1.5, { dtype: FLOAT }), y: np.array(2, { dtype: FLOAT }) };
    let s = tx.init(p);
    for (let t = 0; t < 3000; t++) {
      [p, s] = step(p, s);
      if (t % 500 === 499) await settle();
    }
    expect(await scalarOf(p.x)).toBeCloseTo(1, 3);
    expect(await scalarOf(p.y)).toBeCloseTo(1, 3);
  });
});

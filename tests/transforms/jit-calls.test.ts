/**
 * jit inside transformations stays one compiled call (its program is transformed once per
 * signature and run fused), and checkpoint trades stored intermediates for recomputation.
 */
import { describe, expect, it } from "vitest";
import { np, lax, grad, vmap, jit, jvp, checkpoint, checkpointPolicies, makeJaxpr, random, type Array } from "../../index.ts";
import { evalStats } from "../../core/array.ts";
import { fusionStats, resetFusionStats } from "../../core/compiler/index.ts";
import { FLOAT, onWebgpu } from "../backend-under-test.ts";
import { maxDiffAsync } from "../helpers.ts";

const TOL = onWebgpu ? 1e-5 : 1e-12;
const loss = (w: Array, x: Array) => np.sum(np.tanh(np.matmul(x, w)).mul(np.sin(w.sum(0))));
const w = random.normal(random.key(0), [4, 3], { dtype: FLOAT });
const x = random.normal(random.key(1), [5, 4], { dtype: FLOAT });

/** Primitives run one by one and fused kernels run by `f`. */
function counts(f: () => unknown): { eager: number; kernels: number; plans: number } {
  resetFusionStats();
  const before = evalStats.primitivesRun;
  f();
  return { eager: evalStats.primitivesRun - before, kernels: fusionStats.kernelsRun, plans: fusionStats.plans };
}

describe("jit under grad, jvp and vmap", () => {
  it("grad(jit(f)) equals grad(f) and runs as fused kernels, compiled once", async () => {
    const gj = grad(jit(loss));
    expect(await maxDiffAsync(gj(w, x), grad(loss)(w, x))).toBeLessThan(TOL);
    const eager = counts(() => grad(loss)(w, x));
    const first = counts(() => gj(w, x));
    const again = counts(() => gj(w, x));
    expect(eager.kernels).toBe(0);
    expect(first.kernels).toBeGreaterThan(0);
    // Only the cotangent seed and the argument checks run outside the compiled calls.
    expect(again.eager).toBeLessThan(eager.eager / 3);
    expect(again.plans).toBe(0);
  });

  it("vmap(jit(f)) and jvp(jit(f)) equal the unjitted results and stay compiled", async () => {
    const xs = random.normal(random.key(2), [3, 5, 4], { dtype: FLOAT });
    const vj = vmap(jit(loss), [null, 0]);
    expect(await maxDiffAsync(vj(w, xs), vmap(loss, [null, 0])(w, xs))).toBeLessThan(TOL);
    vj(w, xs);
    const c = counts(() => vj(w, xs));
    expect(c.kernels).toBeGreaterThan(0);
    expect(c.plans).toBe(0);
    const dw = np.onesLike(w);
    const [, t1] = jvp(jit(loss), [w, x], [dw, np.zerosLike(x)]);
    const [, t2] = jvp(loss, [w, x], [dw, np.zerosLike(x)]);
    expect(await maxDiffAsync(t1, t2)).toBeLessThan(TOL);
  });

  it("grad of grad through jit, and a jitted loop under grad", async () => {
    const f = (v: Array) => np.sum(np.sin(v).mul(v));
    const hj = grad((v: Array) => np.sum(grad(jit(f))(v)));
    const h = grad((v: Array) => np.sum(grad(f)(v)));
    const v = np.linspace(-1, 1, 5).astype(FLOAT);
    expect(await maxDiffAsync(hj(v), h(v))).toBeLessThan(TOL);
    const run = jit((a: Array) => lax.forLoop(0, 20, (_i: Array, c: Array) => np.tanh(c.mul(a)), np.ones([3], { dtype: FLOAT })).sum());
    const plain = (a: Array) => lax.forLoop(0, 20, (_i: Array, c: Array) => np.tanh(c.mul(a)), np.ones([3], { dtype: FLOAT })).sum();
    expect(await maxDiffAsync(grad(run)(np.array(0.9, { dtype: FLOAT })), grad(plain)(np.array(0.9, { dtype: FLOAT })))).toBeLessThan(TOL);
  });
});

describe("checkpoint", () => {
  const W = random.normal(random.key(3), [8, 8], { dtype: FLOAT }).mul(0.3);
  const cell = (c: Array, xi: Array): [Array, Array] => {
    const h = np.tanh(np.matmul(c, W).add(xi));
    return [np.sin(h).mul(0.5).add(h.mul(0.5)), h.sum()];
  };
  // WebGPU (lavapipe) pays about a millisecond per loop step: a shorter loop there.
  const steps = onWebgpu ? 50 : 200;
  const xs = random.normal(random.key(4), [steps, 8], { dtype: FLOAT }).mul(0.1);
  const c0 = random.normal(random.key(5), [8], { dtype: FLOAT });
  const lossOf = (body: typeof cell) => (c: Array) => {
    const [last, ys] = lax.scan(body, c, xs);
    return ys.sum().add(last.sum());
  };
  /** Bytes the forward pass of grad stacks for the backward pass (the outputs of its scans beyond their carries). */
  const stored = (f: (c: Array) => Array) => {
    const jp = makeJaxpr(grad(f))(c0);
    let bytes = 0;
    for (const e of jp.jaxpr.eqns) if (e.prim.name === "scan") for (const o of e.outs.slice(e.params.numCarry)) bytes += o.aval.shape.reduce((a, b) => a * b, 1) * 4;
    return bytes;
  };

  it("gives the same gradient and stores less for the backward pass; a policy keeps what it names", async () => {
    const g = grad(lossOf(cell))(c0);
    const remat = lossOf(checkpoint(cell));
    const dots = lossOf(checkpoint(cell, { policy: checkpointPolicies.dotsSaveable }));
    expect(await maxDiffAsync(grad(remat)(c0), g)).toBeLessThan(TOL);
    expect(await maxDiffAsync(grad(dots)(c0), g)).toBeLessThan(TOL);
    expect(await maxDiffAsync(jit(grad(remat))(c0), g)).toBeLessThan(TOL);
    const [plain, none, withDots] = [stored(lossOf(cell)), stored(remat), stored(dots)];
    expect(none).toBeLessThan(plain / 2);
    // The product per step (8 floats) is kept on top of the inputs.
    expect(withDots).toBe(none + steps * 8 * 4);
  });

  it("composes with vmap and jvp, and rejects what it does not understand", async () => {
    const f = checkpoint((v: Array) => np.sin(v).mul(v));
    const v = np.linspace(-1, 1, 4).astype(FLOAT);
    const batched = vmap(f)(np.stack([v, v.mul(2)]));
    expect(await maxDiffAsync(batched.slice(1), np.sin(v.mul(2)).mul(v.mul(2)))).toBeLessThan(TOL);
    const [, t] = jvp(f, [v], [np.onesLike(v)]);
    expect(await maxDiffAsync(t, np.cos(v).mul(v).add(np.sin(v)))).toBeLessThan(TOL);
    expect(() => checkpoint(f, { policy: "dots" as never })).toThrow(/policy must be a function/);
    expect(() => checkpoint(f, { polcy: 1 } as never)).toThrow(/polcy/);
  });
});

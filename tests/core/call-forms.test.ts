/**
 * Issue 20, items 1 and 2: every call form a NumPy / JAX / jax-js user writes either gives the
 * answer of the options form or fails with an error naming the function; misspelt options and
 * out-of-range indices are errors (or JAX's documented "fill" where values are unknown); kernels
 * never address more elements than 32-bit index arithmetic can.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, lax, random, grad, valueAndGrad, vmap, jit, jacfwd, type Array } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import * as optim from "../../optim/index.ts";
import * as aug from "../../augerino/index.ts";
import { checkAddressable, MAX_KERNEL_ELEMENTS } from "../../core/shape.ts";
import { maxDiffAsync, valuesOf } from "../helpers.ts";
import { onCpu } from "../backend-under-test.ts";

// Under tsx nothing type-checks: these calls are what untyped user code passes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the point: these calls use argument forms the declared types reject
const untyped = (f: unknown) => f as (...args: any[]) => any;

/** A random array of rank 1..3 and one of its axes (as written: maybe negative). */
const arrayAndAxis = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.nat(), fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 - 1 }))
  .map(([shape, a, negative, seed]) => {
    const axis = a % shape.length;
    return { shape, axis: negative ? axis - shape.length : axis, seed };
  });

describe("positional forms equal the options forms", () => {
  it("reductions: np.f(x, axis), np.f(x, axis, { keepdims }) and x.f(axis) equal np.f(x, { axis, keepdims })", async () => {
    const fns = ["sum", "mean", "max", "min", "prod", "var", "std", "argmax", "argmin", "logsumexp"] as const;
    await fc.assert(
      fc.asyncProperty(arrayAndAxis, fc.boolean(), async ({ shape, axis, seed }, keepdims) => {
        const x = random.normal(random.key(seed), shape);
        for (const f of fns) {
          const want = untyped(np[f])(x, { axis, keepdims });
          expect(await maxDiffAsync(untyped(np[f])(x, axis, { keepdims }), want), f).toBe(0);
          expect(await maxDiffAsync(untyped(np[f])(x, axis), untyped(np[f])(x, { axis })), f).toBe(0);
          expect(await maxDiffAsync(untyped(x[f]).call(x, axis), untyped(np[f])(x, { axis })), `x.${f}`).toBe(0);
        }
      }),
      { numRuns: 15 },
    );
  });

  it("the issue's cases: np.sum(x, 0), x.sum(1), np.mean(x, 1), np.argmax(x, 1) reduce one axis", async () => {
    const x = np.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await valuesOf(untyped(np.sum)(x, 0))).toEqual([5, 7, 9]);
    expect(await valuesOf(untyped(x.sum).call(x, 1))).toEqual([6, 15]);
    expect(await valuesOf(untyped(np.mean)(x, 1))).toEqual([2, 5]);
    expect(await valuesOf(untyped(np.argmax)(x, 1))).toEqual([2, 2]);
    expect(await valuesOf(untyped(np.sum)(x, [0, 1]))).toEqual([21]);
    expect(await valuesOf(untyped(np.sum)(x, null))).toEqual([21]);
    expect(untyped(np.sum)(x, undefined, { keepdims: true }).shape).toEqual([1, 1]);
    expect(untyped(x.reshape).call(x, 3, 2).shape).toEqual([3, 2]);
    expect(await valuesOf(untyped(x.transpose).call(x, 1, 0))).toEqual(await valuesOf(x.T));
  });

  it("concatenate, stack, split, softmax/logSoftmax, take, sort/argsort, flip and roll take a positional axis", async () => {
    await fc.assert(
      fc.asyncProperty(arrayAndAxis, async ({ shape, axis, seed }) => {
        const x = random.normal(random.key(seed), shape);
        const same = async (a: Array | Array[], b: Array | Array[], what: string) => {
          const [as, bs] = [[a].flat(), [b].flat()];
          expect(as.length, what).toBe(bs.length);
          for (let i = 0; i < as.length; i++) expect(await maxDiffAsync(as[i], bs[i]), what).toBe(0);
        };
        await same(untyped(np.concatenate)([x, x], axis), np.concatenate([x, x], { axis }), "concatenate");
        await same(untyped(np.stack)([x, x], axis), np.stack([x, x], { axis }), "stack");
        await same(untyped(np.split)(np.concatenate([x, x], { axis }), 2, axis), [x, x], "split");
        await same(untyped(np.softmax)(x, axis), np.softmax(x, { axis }), "softmax");
        await same(untyped(np.logSoftmax)(x, axis), np.logSoftmax(x, { axis }), "logSoftmax");
        await same(untyped(np.take)(x, [0], axis), np.take(x, [0], { axis }), "take");
        await same(untyped(np.sort)(x, axis), np.sort(x, { axis }), "sort");
        await same(untyped(np.argsort)(x, axis), np.argsort(x, { axis }), "argsort");
        await same(untyped(np.flip)(x, axis), np.flip(x, { axis }), "flip");
        await same(untyped(np.roll)(x, 1, axis), np.roll(x, 1, { axis }), "roll");
      }),
      { numRuns: 15 },
    );
  });

  it("the issue's cases: np.concatenate([a, b], 1) joins on axis 1; np.softmax(x, 0) normalises axis 0", async () => {
    const x = np.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(untyped(np.concatenate)([x, x], 1).shape).toEqual([2, 6]);
    expect(np.concatenate([x, x], null).shape).toEqual([12]);
    const s = untyped(np.softmax)(x, 0);
    expect(await valuesOf(np.sum(s, 0))).toEqual([1, 1, 1].map((v) => expect.closeTo(v, 6)));
  });

  it("grad(f, argnums) and valueAndGrad(f, argnums) differentiate the named arguments", async () => {
    const f = (a: Array, b: Array, c: Array) => np.sum(a.mul(b).mul(b).add(c.mul(a)));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(0, 1, 2), async (seed, n) => {
        const [a, b, c] = [0, 1, 2].map((i) => random.normal(random.foldIn(random.key(seed), i), [3]));
        const want = grad(f, { argnums: n })(a, b, c);
        expect(await maxDiffAsync(untyped(grad)(f, n)(a, b, c), want)).toBe(0);
        const [value, g] = untyped(valueAndGrad)(f, n)(a, b, c);
        expect(await maxDiffAsync(g, want)).toBe(0);
        expect(await maxDiffAsync(value, f(a, b, c))).toBe(0);
        const gs = untyped(grad)(f, [n, (n + 1) % 3])(a, b, c);
        expect(await maxDiffAsync(gs[0], want)).toBe(0);
        expect(await maxDiffAsync(untyped(jacfwd)((x: Array) => x.mul(2), 0)(a), np.eye(3).mul(2))).toBe(0);
      }),
      { numRuns: 8 },
    );
    // The case: d/db of a*b at (2, 3) is a = 2 (argument 0 would give 3).
    expect(await valuesOf(untyped(grad)((a: Array, b: Array) => np.sum(a.mul(b)), 1)(np.array(2), np.array(3)))).toEqual([2]);
    const [g, aux] = untyped(grad)((a: Array, b: Array) => [np.sum(a.mul(b)), 7], 1, { hasAux: true })(np.array(2), np.array(3));
    expect([await valuesOf(g), aux]).toEqual([[2], 7]);
  });

  it("vmap(f, inAxes, outAxes) maps only the named arguments (the issue's vmap(f, [0, null]))", async () => {
    const x = np.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = np.array([10, 20, 30]);
    const f = (u: Array, v: Array) => u.add(v);
    expect(await valuesOf(untyped(vmap)(f, [0, null])(x, b))).toEqual([11, 22, 33, 14, 25, 36]);
    expect(await maxDiffAsync(untyped(vmap)(f, [1, null], 1)(x.T, b), vmap(f, { inAxes: [1, null], outAxes: 1 })(x.T, b))).toBe(0);
    expect(await maxDiffAsync(untyped(vmap)((u: Array) => u.sum(), 0)(x), np.sum(x, 1))).toBe(0);
  });

  it("random.uniform(key, shape, minval, maxval) honours the bounds; JAX's (key, shape, dtype, minval, maxval) too", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: 0.5, max: 5, noNaN: true }), async (seed, lo, span) => {
        const key = random.key(seed);
        const want = random.uniform(key, [64], { minval: lo, maxval: lo + span });
        expect(await maxDiffAsync(untyped(random.uniform)(key, [64], lo, lo + span), want)).toBe(0);
        expect(await maxDiffAsync(untyped(random.uniform)(key, [64], "float32", lo, lo + span), want)).toBe(0);
        for (const v of await valuesOf(want)) expect(v >= Math.fround(lo) && v <= Math.fround(lo + span)).toBe(true);
      }),
      { numRuns: 10 },
    );
    const key = random.key(0);
    // float64 lives on the CPU (WebGPU has none): the key is made there too, so nothing runs on WebGPU.
    expect(onCpu(() => untyped(random.uniform)(random.key(0), [3], -1, 1, "float64").dtype)).toBe("float64");
    expect(onCpu(() => untyped(random.normal)(random.key(0), [3], "float64").dtype)).toBe("float64");
    expect(untyped(random.randint)(key, [3], 0, 5, "uint32").dtype).toBe("uint32");
    expect(await maxDiffAsync(untyped(random.categorical)(key, np.zeros([2, 4]), 1, [5, 2]), random.categorical(key, np.zeros([2, 4]), { axis: 1, shape: [5, 2] }))).toBe(0);
    expect(await maxDiffAsync(untyped(random.permutation)(key, np.zeros([3, 4]).add(np.arange(4)), 1), random.permutation(key, np.zeros([3, 4]).add(np.arange(4)), { axis: 1 }))).toBe(0);
  });

  it("creation functions take a dtype string (the issue's np.ones([2], 'int32'))", async () => {
    const f = np as unknown as Record<string, (...args: unknown[]) => Array>;
    expect(f.ones([2], "int32").dtype).toBe("int32");
    expect(f.zeros([2], "uint32").dtype).toBe("uint32");
    expect(f.full([2], 3, "int32").dtype).toBe("int32");
    expect(f.array([1, 2], "int32").dtype).toBe("int32");
    expect(f.zerosLike(np.ones([2]), "bool").dtype).toBe("bool");
    expect(f.onesLike(np.ones([2]), "int32").dtype).toBe("int32");
    expect(f.arange(0, 4, 1, "float32").dtype).toBe("float32");
    expect(onCpu(() => f.linspace(0, 1, 3, "float64").dtype)).toBe("float64");
    expect(f.eye(2, 2, "int32").dtype).toBe("int32");
    expect(await valuesOf(f.eye(3, 3, 1))).toEqual(await valuesOf(np.eye(3, 3, { k: 1 })));
    expect(await valuesOf(f.ones([2], "int32"))).toEqual([1, 1]);
  });
});

describe("unknown options and wrong argument kinds are errors naming the function", () => {
  const x = np.array([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const f = (a: Array) => np.sum(a);
  const cases: [string, () => unknown, RegExp][] = [
    ["np.sum(x, { axes: 1 })", () => untyped(np.sum)(x, { axes: 1 }), /^sum: unknown option "axes"; accepted: axis, keepdims/],
    ["x.mean({ axes: 1 })", () => untyped(x.mean).call(x, { axes: 1 }), /^mean: unknown option "axes"/],
    ["vmap(f, { in_axes: 0 })", () => untyped(vmap)(f, { in_axes: 0 }), /^vmap: unknown option "in_axes" \(did you mean "inAxes"\?\)/],
    ["jit(f, { static_argnums: [1] })", () => untyped(jit)(f, { static_argnums: [1] }), /^jit: unknown option "static_argnums" \(did you mean "staticArgnums"\?\)/],
    ["grad(f, { has_aux: true })", () => untyped(grad)(f, { has_aux: true }), /^grad: unknown option "has_aux" \(did you mean "hasAux"\?\)/],
    ["np.sum(x, '1')", () => untyped(np.sum)(x, "1"), /^sum: expected an axis .* got string "1"/],
    ["np.softmax(x, '0')", () => untyped(np.softmax)(x, "0"), /^softmax: expected an axis/],
    ["np.concatenate([x, x], '1')", () => untyped(np.concatenate)([x, x], "1"), /^concatenate: expected an axis/],
    ["np.stack([x, x], null)", () => untyped(np.stack)([x, x], null), /^stack: expected an axis/],
    ["np.take(x, [0], { axis: 0, mod: 'clip' })", () => untyped(np.take)(x, [0], { axis: 0, mod: "clip" }), /^take: unknown option "mod"/],
    ["np.take(x, [0], { mode: 'wrap' })", () => untyped(np.take)(x, [0], { mode: "wrap" }), /^take: mode must be one of "fill", "clip"/],
    ["np.sort(x, { reverse: true })", () => untyped(np.sort)(x, { reverse: true }), /^sort: unknown option "reverse"/],
    ["np.transpose(x, { axes: [1, 0] })", () => untyped(np.transpose)(x, { axes: [1, 0] }), /^transpose: axes must be a permutation list/],
    ["np.reshape(x, 6)", () => untyped(np.reshape)(x, 6), /^reshape: shape must be a list/],
    ["grad(f, [0, 0])", () => untyped(grad)((a: Array, b: Array) => np.sum(a.mul(b)), [0, 0])(np.array(1), np.array(2)), /^grad: argnums \[0,0\] repeats an argument/],
    ["grad(f, '1')", () => untyped(grad)(f, "1"), /^grad: expected argnums/],
    ["grad(f, 1, 2)", () => untyped(grad)(f, 1, 2), /^grad: options must be an object/],
    ["vmap(f, 'x')", () => untyped(vmap)(f, "x"), /^vmap: expected inAxes/],
    ["jit(f, 1)", () => untyped(jit)(f, 1), /^jit: options must be an object/],
    ["np.ones([2], 5)", () => untyped(np.ones)([2], 5), /^ones: expected a dtype/],
    ["np.ones([2], 'int64')", () => untyped(np.ones)([2], "int64"), /ones/],
    ["np.zeros([2], { dtyp: 'int32' })", () => untyped(np.zeros)([2], { dtyp: "int32" }), /^zeros: unknown option "dtyp"/],
    ["np.arange('5')", () => untyped(np.arange)("5"), /^arange: start must be a number/],
    ["random.uniform(key, [3], { min: -1 })", () => untyped(random.uniform)(random.key(0), [3], { min: -1 }), /^random.uniform: unknown option "min"/],
    ["random.uniform(key, [3], -1, 'x')", () => untyped(random.uniform)(random.key(0), [3], -1, "x"), /^random.uniform: maxval must be/],
    ["random.normal(key, [3], { dtype: 'float64', mean: 1 })", () => untyped(random.normal)(random.key(0), [3], { dtype: "float64", mean: 1 }), /^random.normal: unknown option "mean"/],
    ["lax.conv(x, w, { stride: 2 })", () => untyped(lax.conv)(np.ones([1, 1, 4, 4]), np.ones([1, 1, 3, 3]), { stride: 2 }), /^lax.conv: unknown option "stride"/],
    ["lax.scan(f, 0, xs, { revers: true })", () => untyped(lax.scan)((c: Array, v: Array) => [c, v], np.array(0), np.ones([2]), { revers: true }), /^lax.scan: unknown option "revers"/],
    ["np.allclose(a, b, { equal_nan: true })", () => untyped(np.allclose)(x, x, { equal_nan: true }), /did you mean "equalNan"/],
    ["nn.dense(4, { use_bias: false })", () => untyped(nn.dense)(4, { use_bias: false }), /^nn.dense: unknown option "use_bias"; accepted: bias/],
    ["nn.conv2d(4, 3, { stride: 2 })", () => untyped(nn.conv2d)(4, 3, { stride: 2 }), /^nn.conv2d: unknown option "stride"/],
    ["nn.batchNorm({ epsilon: 1e-3 })", () => untyped(nn.batchNorm)({ epsilon: 1e-3 }), /^nn.batchNorm: unknown option "epsilon"/],
    ["nn.maxPool(2, { stride: 2 })", () => untyped(nn.maxPool)(2, { stride: 2 }), /^nn.maxPool: unknown option "stride"/],
    ["nn.models.smallConv({ num_classes: 2 })", () => untyped(nn.models.smallConv)({ num_classes: 2 }), /did you mean "numClasses"/],
    ["nn.relu().apply(null, null, x, { trian: true })", () => untyped(nn.relu().apply)(null, null, x, { trian: true }), /^nn.relu.apply: unknown option "trian"/],
    ["optim.sgd({ learningRate: 0.1 })", () => untyped(optim.sgd)({ learningRate: 0.1 }), /^optim.sgd: unknown option "learningRate"/],
    ["optim.adam({ lr: 1e-3, beta1: 0.9 })", () => untyped(optim.adam)({ lr: 1e-3, beta1: 0.9 }), /^optim.adam: unknown option "beta1"/],
    ["optim.adamw({ lr: 1e-3, weight_decay: 0.1 })", () => untyped(optim.adamw)({ lr: 1e-3, weight_decay: 0.1 }), /did you mean "weightDecay"/],
    ["optim.cosineDecay({ init: 1, decay_steps: 10 })", () => untyped(optim.cosineDecay)({ init: 1, decay_steps: 10 }), /did you mean "decaySteps"/],
    ["aug.uniformAffine({ init_width: 1 })", () => untyped(aug.uniformAffine)({ init_width: 1 }), /^aug.uniformAffine: unknown option "init_width" \(did you mean "initWidth"\?\)/],
    ["aug.gridSample(x, g, { mode: 'bicubic' })", () => untyped(aug.gridSample)(np.zeros([1, 1, 2, 2]), np.zeros([1, 2, 2, 2]), { mode: "bicubic" }), /^aug.gridSample: mode must be one of/],
    [
      "aug.loss(..., { dist, copies: 2 })",
      () => untyped(aug.loss)((w: Array, xb: Array) => xb, { w: null, theta: np.zeros([6]) }, random.key(0), x, x, { dist: aug.uniformAffine(), copies: 2 }),
      /^aug.loss: unknown option "copies"/,
    ],
    [
      "aug.loss(..., { dist, reg: 'sq_norm' })",
      () => untyped(aug.loss)((w: Array, xb: Array) => xb, { w: null, theta: np.zeros([6]) }, random.key(0), x, x, { dist: aug.uniformAffine(), reg: "sq_norm" }),
      /^aug.loss: reg must be one of "norm", "sqnorm"/,
    ],
    [
      "aug.predict(..., { nCopies: 2 }) without dist",
      () => untyped(aug.predict)((w: Array, xb: Array) => xb, { w: null, theta: np.zeros([6]) }, random.key(0), x, { nCopies: 2 }),
      /^aug.predict: options need dist/,
    ],
  ];
  it.each(cases)("%s", (_name, call, message) => {
    expect(call).toThrow(message);
  });
});

describe("indexing: out-of-range indices", () => {
  const x = np.array([10, 20, 30]);
  it("eager take / takeAlongAxis / crossEntropy name the op, the value and the valid range", () => {
    expect(() => np.take(x, [5])).toThrow(/^take: index 5 is out of range for axis 0 of size 3 \(valid: -3 to 2\)/);
    expect(() => np.take(x, [-4])).toThrow(/^take: index -4 is out of range/);
    expect(() => np.takeAlongAxis(np.ones([2, 3]), [[3], [0]], { axis: 1 })).toThrow(/^takeAlongAxis: index 3 is out of range for axis 1 of size 3/);
    // Concrete arrays are known where they read synchronously: on the CPU (WebGPU gives "fill", tested below).
    expect(() => onCpu(() => nn.crossEntropy(np.zeros([2, 3]), np.array([0, 7], { dtype: "int32" })))).toThrow(/^crossEntropy: label 7 is out of range for 3 classes \(valid: 0 to 2\)/);
  });

  it("lax.gather and lax.scatterAdd: known indices outside [0, n) are errors; unknown ones clamp (gather) or drop (scatter), as XLA and JAX", async () => {
    const i = np.array([0, 3], "int32");
    expect(() => onCpu(() => lax.gather(np.ones([3]), np.array([0, 3], "int32"), 0))).toThrow(/^lax.gather: index 3 is out of range for axis 0 of size 3 \(valid: 0 to 2\)/);
    expect(() => onCpu(() => lax.scatterAdd(np.zeros([3]), np.array([0, 3], "int32"), np.ones([2]), 0))).toThrow(/^lax.scatterAdd: index 3 is out of range/);
    expect(await valuesOf(jit((j: Array) => lax.gather(x, j, 0))(i))).toEqual([10, 30]);
    expect(await valuesOf(jit((j: Array) => lax.gather(x, j, 0, { mode: "fill" }))(i))).toEqual([10, NaN]);
    expect(await valuesOf(jit((j: Array) => lax.scatterAdd(np.zeros([3]), j, np.ones([2]), 0))(i))).toEqual([1, 0, 0]);
    expect(await valuesOf(lax.scatterAdd(np.zeros([3]), i, np.ones([2]), 0, { mode: "clip" }))).toEqual([1, 0, 1]);
  });

  it("in range, take equals indexing in JS (negative indices count from the end), whatever the mode", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -3, max: 2 }), { minLength: 1, maxLength: 6 }), async (idx) => {
        const want = idx.map((i) => [10, 20, 30][i < 0 ? i + 3 : i]);
        for (const mode of [undefined, "clip", "fill"] as const) expect(await valuesOf(np.take(x, idx, { mode }))).toEqual(want);
        expect(await valuesOf(jit((a: Array, i: Array) => np.take(a, i))(x, np.array(idx, "int32")))).toEqual(want);
      }),
      { numRuns: 20 },
    );
  });

  it("under jit (indices unknown) the default is JAX's fill: NaN for floats, INT32_MIN for int32; clip clamps", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 1, maxLength: 6 }), async (idx) => {
        const i = np.array(idx, "int32");
        const inRange = (k: number) => k >= -3 && k < 3;
        const at = (k: number) => [10, 20, 30][Math.min(Math.max(k < 0 ? k + 3 : k, 0), 2)];
        const filled = await valuesOf(jit((a: Array, j: Array) => np.take(a, j))(x, i));
        expect(filled).toEqual(idx.map((k) => (inRange(k) ? at(k) : NaN)));
        const ints = await valuesOf(jit((a: Array, j: Array) => np.take(a, j))(x.astype("int32"), i));
        expect(ints).toEqual(idx.map((k) => (inRange(k) ? at(k) : -(2 ** 31))));
        expect(await valuesOf(jit((a: Array, j: Array) => np.take(a, j, { mode: "clip" }))(x, i))).toEqual(idx.map(at));
        expect(await valuesOf(np.take(x, idx, { mode: "fill" }))).toEqual(filled);
      }),
      { numRuns: 20 },
    );
  });

  it("crossEntropy under jit gives NaN for out-of-range (and negative) labels, the loss otherwise", async () => {
    const logits = np.array([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    const ce = jit((l: Array, y: Array) => nn.crossEntropy(l, y));
    expect(await valuesOf(ce(logits, np.array([0, 7], "int32")))).toEqual([NaN]);
    expect(await valuesOf(ce(logits, np.array([0, -1], "int32")))).toEqual([NaN]);
    expect(await maxDiffAsync(ce(logits, np.array([0, 2], "int32")), nn.crossEntropy(logits, np.array([0, 2], "int32")))).toBeLessThan(1e-6);
  });
});

describe("index arithmetic never overflows silently", () => {
  it("checkAddressable refuses more than 2^31 - 1 elements, naming the op and the size", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2 ** 20 }), { minLength: 1, maxLength: 4 }), (shape) => {
        const n = shape.reduce((a, b) => a * b, 1);
        if (n > MAX_KERNEL_ELEMENTS) expect(() => checkAddressable("op", shape)).toThrow(`op: [${shape.join(",")}] has ${n} elements`);
        else expect(() => checkAddressable("op", shape)).not.toThrow();
      }),
    );
  });

  it("a jitted full sum over 2^32 elements (a broadcast view) is refused, not the count modulo 2^32", () => {
    const big = (a: Array) => np.sum(np.broadcastTo(a, [65536, 65536, 1]));
    expect(() => jit(big)(np.ones([1, 1, 1]))).toThrow(/\[65536,65536,1\] has 4294967296 elements, more than the 2147483647/);
    expect(() => big(np.ones([1, 1, 1]))).toThrow(/^np\.broadcastTo: broadcast_in_dim: \[65536,65536,1\] has 4294967296 elements/);
  });
});

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, random, grad, jit, vmap, type Array } from "../../index.ts";
import { threefry2x32 } from "../../core/primitives/random.ts";
import { threefry2x32Scalar } from "../../core/backends/cpu/routines/random.ts";
import { FLOAT, itOnCpu, onWebgpu } from "../backend-under-test.ts";
import { scalarOf, valuesOf } from "../helpers.ts";

const u32 = (xs: number[]) => np.array(new Uint32Array(xs));
/** The elements of `x` (on any backend) as numbers. */
/** Nested JS arrays on any backend. */
const nested = (x: Array) => x.toArray();
const seeds = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const f32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];

async function moments(x: Array): Promise<{ mean: number; variance: number }> {
  const v = await x.data();
  let s = 0;
  for (const e of v) s += e;
  const mean = s / v.length;
  let q = 0;
  for (const e of v) q += (e - mean) ** 2;
  return { mean, variance: q / v.length };
}

async function counts(x: Array, k: number): Promise<number[]> {
  const c = new globalThis.Array<number>(k).fill(0);
  for (const v of await x.data()) c[v]++;
  return c;
}

describe("threefry2x32", () => {
  // Random123's known-answer vectors for threefry2x32_20 (kat_vectors), also in JAX's tests.
  const KAT: [number[], number[], number[]][] = [
    [
      [0, 0],
      [0, 0],
      [0x6b200159, 0x99ba4efe],
    ],
    [
      [0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      [0x1cb996fc, 0xbb002be7],
    ],
    [
      [0x13198a2e, 0x03707344],
      [0x243f6a88, 0x85a308d3],
      [0xc4923a9c, 0x483df7a0],
    ],
  ];

  it("matches the Random123 known-answer vectors (scalar reference and primitive)", async () => {
    for (const [k, x, y] of KAT) {
      expect(threefry2x32Scalar(k[0], k[1], x[0], x[1])).toEqual(y);
      const [y0, y1] = threefry2x32(u32([k[0]]), u32([k[1]]), u32([x[0]]), u32([x[1]]));
      expect([...(await valuesOf(y0)), ...(await valuesOf(y1))]).toEqual(y);
    }
  });

  it("broadcasts its operands and agrees with the scalar reference elementwise", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 8 }), fc.nat({ max: 2 ** 32 - 1 }), async (xs, k) => {
        const [y0, y1] = threefry2x32(u32([k]).reshape([]), u32([7]), u32(xs.map((x) => x ^ 5)), u32(xs));
        const [v0, v1] = await Promise.all([y0.data(), y1.data()]);
        xs.forEach((x, i) => expect([v0[i], v1[i]]).toEqual(threefry2x32Scalar(k, 7, x ^ 5, x)));
      }),
      { numRuns: 30 },
    );
  });

  it("names the operands' dtypes when they are not uint32", async () => {
    expect(() => threefry2x32(np.array([1]), u32([1]), u32([1]), u32([1]))).toThrow(/threefry2x32: operands must be uint32, got float32\[1\]/);
  });
});

describe("keys", () => {
  it("key(seed) holds the seed's high and low 32-bit words", async () => {
    expect(await valuesOf(random.key(0))).toEqual([0, 0]);
    expect(await valuesOf(random.key(42))).toEqual([0, 42]);
    expect(await valuesOf(random.key(2 ** 32 + 5))).toEqual([1, 5]);
    expect(await valuesOf(random.key(2 ** 53 - 1))).toEqual([2 ** 21 - 1, 2 ** 32 - 1]);
    // A negative seed is an int32, as in JAX without x64.
    expect(await valuesOf(random.key(-1))).toEqual([0, 0xffffffff]);
    expect(random.key(0).dtype).toBe("uint32");
    expect(() => random.key(1.5)).toThrow(/random.key: seed must be an integer/);
    expect(() => random.key(-(2 ** 31) - 1)).toThrow(/random.key/);
  });

  it("key accepts a traced integer seed (vmap over seeds equals a loop)", async () => {
    const seeds = np.array([0, 7, -3], { dtype: "int32" });
    const batched = vmap((s: Array) => random.key(s))(seeds);
    expect(await nested(batched)).toEqual(await Promise.all([0, 7, -3].map((s) => valuesOf(random.key(s)))));
  });

  it("split(key(0)) is JAX's value: row 0 is threefry at counter (0,0), row 1 at (0,1)", async () => {
    // Row 0 follows from the first known-answer vector. Both rows are also what
    // jax.random.split(jax.random.key(0)) prints with partitionable threefry (JAX >= 0.5).
    expect(await nested(random.split(random.key(0)))).toEqual([
      [1797259609, 2579123966],
      [928981903, 3453687069],
    ]);
  });

  it("split returns an [n, 2] array whose rows destructure", async () => {
    const keys = random.split(random.key(3), 3);
    expect(keys.shape).toEqual([3, 2]);
    const [a, b, c] = keys;
    expect([await valuesOf(a), await valuesOf(b), await valuesOf(c)]).toEqual(await nested(keys));
    expect(random.split(random.key(3), 0).shape).toEqual([0, 2]);
  });

  it("split keys are distinct from each other and from the parent", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, async (s) => {
        const k = random.key(s);
        const rows = ((await nested(random.split(k, 64))) as number[][]).map((r) => r.join(","));
        rows.push((await valuesOf(k)).join(","));
        expect(new Set(rows).size).toBe(65);
      }),
      { numRuns: 20 },
    );
  });

  it("foldIn(k, d) is the key at counter (0, d): it equals split(k, d + 1)[d] and changes the key", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.nat({ max: 20 }), async (s, d) => {
        const k = random.key(s);
        const folded = random.foldIn(k, d);
        expect(await valuesOf(folded)).toEqual(await valuesOf(random.split(k, d + 1).slice(d)));
        expect(await valuesOf(folded)).not.toEqual(await valuesOf(k));
        expect(await valuesOf(folded)).not.toEqual(await valuesOf(random.foldIn(k, d + 1)));
      }),
      { numRuns: 20 },
    );
    // Data is taken mod 2^32, like jnp.uint32.
    expect(await valuesOf(random.foldIn(random.key(1), -1))).toEqual(await valuesOf(random.foldIn(random.key(1), 2 ** 32 - 1)));
    expect(await valuesOf(random.foldIn(random.key(1), np.array(5, { dtype: "int32" })))).toEqual(await valuesOf(random.foldIn(random.key(1), 5)));
  });

  it("errors name the function and the bad key's dtype and shape", async () => {
    expect(() => random.uniform(np.array([0, 0]), [2])).toThrow(/random.uniform: key must be a uint32 array of shape \[2\].*got float32\[2\]/);
    expect(() => random.normal(random.split(random.key(0), 4), [2])).toThrow(/random.normal: .*got uint32\[4,2\].*vmap/);
    expect(() => random.split(random.key(0), -1)).toThrow(/random.split: n must be a non-negative integer/);
    expect(() => random.uniform(random.key(0), [2], { minval: np.zeros([3]) })).toThrow(/random.uniform: .*\[3\].*\[2\]/);
    expect(() => random.uniform(random.key(0), [2], { dtype: "int32" })).toThrow(/random.uniform: dtype must be float32 or float64/);
  });
});

describe("bits and uniform", () => {
  it("bits of element i use counter i in row-major order, output words xored", async () => {
    const k = random.key(11);
    const [k0, k1] = await valuesOf(k);
    const b = random.bits(k, [2, 3]);
    expect(b.dtype).toBe("uint32");
    (await valuesOf(b)).forEach((v, i) => {
      const [y0, y1] = threefry2x32Scalar(k0, k1, 0, i);
      expect(v).toBe((y0 ^ y1) >>> 0);
    });
  });

  it("uniform takes the top 23 bits as the mantissa of a float in [1, 2), minus 1", async () => {
    // key(0), counter 0: bits = 0x6b200159 ^ 0x99ba4efe from the known-answer vector.
    const expected = f32((((0x6b200159 ^ 0x99ba4efe) >>> 9) | 0x3f800000) >>> 0) - 1;
    expect(await scalarOf(random.uniform(random.key(0)))).toBe(Math.fround(expected));
  });

  it("uniform lies in [minval, maxval) for random keys and bounds", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: 0.001, max: 50, noNaN: true }), async (s, lo, width) => {
        const [a, b] = [Math.fround(lo), Math.fround(lo + width)];
        const u = random.uniform(random.key(s), [500], { minval: a, maxval: b });
        expect(u.dtype).toBe("float32");
        // As in JAX, u * (b - a) + a may round up to b when |a| >> b - a; [0, 1) itself is strict.
        for (const v of await u.data()) expect(v >= a && v <= b).toBe(true);
        for (const v of await random.uniform(random.key(s), [500]).data()) expect(v >= 0 && v < 1).toBe(true);
        for (const v of await random.uniform(random.key(s), [500], { minval: 0, maxval: b - a }).data()) expect(v >= 0 && v < b - a).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it("uniform accepts array bounds broadcasting to the shape", async () => {
    const lo = np.array([[0], [10], [-5]]);
    const u = random.uniform(random.key(1), [3, 1000], { minval: lo, maxval: np.add(lo, 2) });
    const rows = (await nested(u)) as number[][];
    [0, 10, -5].forEach((l, i) => rows[i].forEach((v) => expect(v >= l && v < l + 2).toBe(true)));
  });

  it("100k uniforms have mean 1/2 and variance 1/12", async () => {
    const { mean, variance } = await moments(random.uniform(random.key(0), [100_000]));
    // Four standard errors: sqrt(1/12 / n) ~ 9e-4 for the mean, ~3e-4 for the variance.
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * 9.2e-4);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(4 * 3e-4);
  });

  itOnCpu("WebGPU has no float64")("float64 draws are the float32 draws widened", async () => {
    const k = random.key(5);
    const u64 = random.uniform(k, [100], { dtype: "float64" });
    expect(u64.dtype).toBe("float64");
    expect(await valuesOf(u64)).toEqual(await valuesOf(random.uniform(k, [100])));
  });
});

describe("distributions", () => {
  it("100k normals have mean 0, variance 1 and are finite", async () => {
    const x = random.normal(random.key(1), [100_000]);
    expect((await x.data()).every(Number.isFinite)).toBe(true);
    const { mean, variance } = await moments(x);
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(1e5));
    expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / 1e5));
  });

  it("bernoulli(p) is true with frequency p; p may be an array", async () => {
    const m = (await moments(np.astype(random.bernoulli(random.key(2), 0.3, [100_000]), "float32"))).mean;
    expect(Math.abs(m - 0.3)).toBeLessThan(4 * Math.sqrt(0.21 / 1e5));
    const b = random.bernoulli(random.key(3), np.array([0, 1]), [4, 2]);
    expect(await nested(b)).toEqual([
      [false, true],
      [false, true],
      [false, true],
      [false, true],
    ]);
    expect(random.bernoulli(random.key(3)).shape).toEqual([]);
  });

  it("categorical frequencies match softmax(logits), along any axis", async () => {
    const p = [0.1, 0.2, 0.3, 0.4];
    const n = 100_000;
    const draws = random.categorical(random.key(4), np.log(np.array(p)), { shape: [n] });
    expect(draws.dtype).toBe("int32");
    (await counts(draws, 4)).forEach((c, i) => expect(Math.abs(c / n - p[i])).toBeLessThan(4 * Math.sqrt((p[i] * (1 - p[i])) / n)));
    // Logits [3 categories, 2 rows] along axis 0, with 2000 draws per row: shape [2000, 2].
    const logits = np.log(
      np.array([
        [0.7, 0.1],
        [0.2, 0.1],
        [0.1, 0.8],
      ]),
    );
    const d = random.categorical(random.key(5), logits, { axis: 0, shape: [2000, 2] });
    expect(d.shape).toEqual([2000, 2]);
    const byRow = async (j: number) => (await counts(np.take(d, [j], { axis: 1 }), 3)).map((c) => c / 2000);
    for (const [j, q] of [
      [0.7, 0.2, 0.1],
      [0.1, 0.1, 0.8],
    ].entries())
      (await byRow(j)).forEach((f, i) => expect(Math.abs(f - q[i])).toBeLessThan(0.05));
  });

  it("randint stays in [minval, maxval) and is roughly uniform", async () => {
    const n = 100_000;
    const x = random.randint(random.key(6), [n], 0, 10);
    expect(x.dtype).toBe("int32");
    (await counts(x, 10)).forEach((c) => expect(Math.abs(c - n / 10)).toBeLessThan(4 * Math.sqrt(n * 0.09)));
    await fc.assert(
      fc.asyncProperty(seeds, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 2 }), fc.integer({ min: 1, max: 2 ** 31 }), async (s, lo, span) => {
        const hi = Math.min(lo + span, 2 ** 31 - 1);
        for (const v of await random.randint(random.key(s), [200], lo, hi).data()) expect(v >= lo && v < hi).toBe(true);
      }),
      { numRuns: 30 },
    );
    // maxval <= minval gives minval, as in JAX.
    expect(await valuesOf(random.randint(random.key(7), [3], 5, 5))).toEqual([5, 5, 5]);
    const u = random.randint(random.key(8), [1000], 0, 2 ** 32 - 1, { dtype: "uint32" });
    expect(u.dtype).toBe("uint32");
    expect(Math.max(...(await u.data()))).toBeGreaterThan(2 ** 31);
  });

  it("permutation is a permutation of 0..n-1 that differs across keys", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.integer({ min: 0, max: 300 }), async (s, n) => {
        const p = random.permutation(random.key(s), n);
        expect(p.dtype).toBe("int32");
        expect([...(await p.data())].sort((a, b) => a - b)).toEqual([...globalThis.Array(n).keys()]);
      }),
      { numRuns: 30 },
    );
    const a = await valuesOf(random.permutation(random.key(0), 50));
    const b = await valuesOf(random.permutation(random.key(1), 50));
    expect(a).not.toEqual(b);
    // Large n takes two sorting rounds (JAX's rule) and is still a permutation.
    const big = [...(await random.permutation(random.key(2), 100_000).data())].sort((x, y) => x - y);
    expect(big.every((v, i) => v === i)).toBe(true);
  });

  it("permutation of an array shuffles along an axis, jointly or independently", async () => {
    const x = np.reshape(np.arange(12), [3, 4]);
    const rows = (await nested(random.permutation(random.key(9), x))) as number[][];
    expect(rows.map((r) => r[0]).sort((a, b) => a - b)).toEqual([0, 4, 8]);
    rows.forEach((r) => expect(r).toEqual([0, 1, 2, 3].map((j) => r[0] + j)));
    const cols = (await nested(random.permutation(random.key(9), x, { axis: 1, independent: true }))) as number[][];
    cols.forEach((r, i) => expect([...r].sort((a, b) => a - b)).toEqual([0, 1, 2, 3].map((j) => 4 * i + j)));
  });
});

describe("transformations", () => {
  const draws: Record<string, (k: Array) => Array> = {
    bits: (k) => random.bits(k, [3, 4]),
    uniform: (k) => random.uniform(k, [5], { minval: -2, maxval: 3 }),
    normal: (k) => random.normal(k, [2, 3]),
    bernoulli: (k) => random.bernoulli(k, 0.4, [6]),
    gumbel: (k) => random.gumbel(k, [4]),
    categorical: (k) =>
      random.categorical(
        k,
        np.array([
          [0, 1, 2],
          [2, 1, 0],
        ]),
        { shape: [5, 2] },
      ),
    randint: (k) => random.randint(k, [7], -3, 12),
    permutation: (k) => random.permutation(k, 9),
    permuteArray: (k) => random.permutation(k, np.reshape(np.arange(8), [4, 2])),
    split: (k) => random.split(k, 3),
    foldIn: (k) => random.foldIn(k, 17),
  };

  for (const [name, f] of Object.entries(draws)) {
    it(`${name}: vmap over a batch of keys equals a loop, and jit equals eager, bit for bit`, async () => {
      const keys = random.split(random.key(123), 4);
      const loop = [...keys].map((k) => f(k));
      const batched = vmap(f)(keys) as Array;
      expect(batched.dtype).toBe(loop[0].dtype);
      expect(batched.shape).toEqual([4, ...loop[0].shape]);
      expect(await valuesOf(batched)).toEqual((await Promise.all(loop.map(valuesOf))).flat());
      const staged = jit(f);
      for (const k of [keys.slice(0), keys.slice(3)]) {
        expect(await valuesOf(staged(k))).toEqual(await valuesOf(f(k)));
      }
      // jit of vmap too: one staged batched program.
      expect(await valuesOf(jit(vmap(f))(keys) as Array)).toEqual(await valuesOf(batched));
    });
  }

  it("grad of sum(uniform) w.r.t. minval and maxval is (n - sum(u), sum(u))", async () => {
    await fc.assert(
      fc.asyncProperty(seeds, fc.double({ min: -3, max: 3, noNaN: true }), async (s, lo) => {
        const k = random.key(s);
        const shape = [10, 20];
        const loss = (a: Array, b: Array) => np.sum(random.uniform(k, shape, { minval: a, maxval: b }));
        const [ga, gb] = grad(loss, { argnums: [0, 1] })(np.array(lo), np.array(lo + 2)) as Array[];
        let su = 0;
        for (const v of await random.uniform(k, shape).data()) su += v;
        expect(await scalarOf(ga)).toBeCloseTo(200 - su, 2);
        expect(await scalarOf(gb)).toBeCloseTo(su, 2);
      }),
      { numRuns: 10 },
    );
  });

  it("grad flows per element through array bounds, under jit and vmap over keys", async () => {
    const lo = np.array([0, 1, 2], { dtype: FLOAT });
    const width = np.array([1, 2, 3], { dtype: FLOAT });
    const k = random.key(77);
    const sample = (k: Array, lo: Array, w: Array) => np.sum(random.uniform(k, [4, 3], { minval: lo, maxval: lo.add(w), dtype: FLOAT }));
    const gw = grad(sample, { argnums: 2 })(k, lo, width) as Array;
    const u = random.uniform(k, [4, 3], { dtype: FLOAT });
    // Digits: 12 in float64; the float32 sums of four uniforms (WebGPU) keep 6.
    expect(await valuesOf(gw)).toEqual((await valuesOf(np.sum(u, { axis: 0 }))).map((v) => expect.closeTo(v, onWebgpu ? 6 : 12)));
    expect(await valuesOf(jit(grad(sample, { argnums: 2 }))(k, lo, width) as Array)).toEqual(await valuesOf(gw));
    const keys = random.split(k, 3);
    const perKey = vmap(grad(sample, { argnums: 2 }), { inAxes: [0, null, null] })(keys, lo, width) as Array;
    expect(await valuesOf(perKey)).toEqual((await Promise.all([...keys].map((kk) => valuesOf(grad(sample, { argnums: 2 })(kk, lo, width) as Array)))).flat());
  });
});

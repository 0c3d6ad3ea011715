/** np creation and elementwise functions against plain-JS float64 references. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, type Array as NpArray } from "../../index.ts";
import { FLOAT, onWebgpu } from "../backend-under-test.ts";
import { bget, broadcastPairArb, broadcastRule, build, config, EXACT_F32, expectRef, F32, ref, refArb, shapeArb, toArray, valuesArb, type Ref } from "./np-reference.ts";

/** Every element of `x` (on any backend) equals `v`. */
const allEqual = async (x: NpArray, v: number) => [...(await x.data())].every((e) => e === v);
/** The truth value of a size-1 bool array on any backend. */
const truth = async (x: NpArray) => {
  expect(x.size).toBe(1);
  return (await x.data())[0] !== 0;
};
/** WebGPU has no float64; every other dtype is checked on both backends. */
const DTYPES = ["float32", "int32", "bool", ...(onWebgpu ? [] : ["float64" as const])] as const;

const roundHalfEven = (x: number) => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
const mapRef = (r: Ref, f: (v: number) => number): Ref => ({ shape: r.shape, data: r.data.map(f) });

const pairArb = (lo = -3, hi = 3) =>
  broadcastPairArb.chain(([sa, sb]) =>
    fc.tuple(valuesArb(sa, lo, hi), valuesArb(sb, lo, hi)).map(([a, b]): [Ref, Ref] => [
      { shape: sa, data: a },
      { shape: sb, data: b },
    ]),
  );

function binaryRef(a: Ref, b: Ref, f: (x: number, y: number) => number): Ref {
  const shape = broadcastRule(a.shape, b.shape)!;
  return build(shape, (idx) => f(bget(a, idx), bget(b, idx)));
}

describe("creation", () => {
  it("zeros, ones, full, zerosLike, onesLike give the shape, dtype and value", async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(), fc.constantFrom(...DTYPES), async (shape, dtype) => {
        const z = np.zeros(shape, { dtype });
        expect([z.shape, z.dtype]).toEqual([shape, dtype]);
        expect(await allEqual(z, 0)).toBe(true);
        expect(await allEqual(np.ones(shape, { dtype }), 1)).toBe(true);
        const f = np.full(shape, 7, { dtype: dtype === "bool" ? "int32" : dtype });
        expect(await allEqual(f, 7)).toBe(true);
        const zl = np.zerosLike(f);
        const ol = np.onesLike(f);
        expect([zl.shape, zl.dtype, ol.shape, ol.dtype]).toEqual([shape, f.dtype, shape, f.dtype]);
        expect((await allEqual(ol, 1)) && (await allEqual(zl, 0))).toBe(true);
      }),
      config,
    );
    expect(np.zeros([2]).dtype).toBe("float32");
    expect(np.full([2], true).dtype).toBe("bool");
  });

  it("arange matches a JS loop (one, two and three arguments, negative and fractional steps)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -10, max: 10 }), fc.integer({ min: -10, max: 10 }), fc.constantFrom(1, 2, 3, -1, -2, 0.5, -0.75), async (start, stop, step) => {
        const expected: number[] = [];
        for (let v = start; step > 0 ? v < stop : v > stop; v += step) expected.push(v);
        const x = np.arange(start, stop, step);
        expect(x.dtype).toBe(Number.isInteger(step) ? "int32" : "float32");
        await expectRef(x, { shape: [expected.length], data: expected }, 1e-6);
      }),
      config,
    );
    await expectRef(np.arange(5), { shape: [5], data: [0, 1, 2, 3, 4] });
  });

  it("linspace includes the endpoint unless endpoint is false", async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), fc.integer({ min: 0, max: 9 }), fc.boolean(), async (a, b, num, endpoint) => {
        // On WebGPU the ends are the float32 values the backend holds.
        if (onWebgpu) [a, b] = [Math.fround(a), Math.fround(b)];
        const div = endpoint ? num - 1 : num;
        const expected = [...Array(num).keys()].map((i) => (div > 0 ? a + ((b - a) * i) / div : a));
        if (endpoint && num > 1) expected[num - 1] = b;
        // float32 on WebGPU: a + (b - a) i / div rounds a few times.
        await expectRef(np.linspace(a, b, num, { endpoint, dtype: FLOAT }), { shape: [num], data: expected }, 1e-12, "linspace", F32);
      }),
      config,
    );
  });

  it("eye has ones on diagonal k", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: -5, max: 5 }), async (n, m, k) => {
        await expectRef(
          np.eye(n, m, { k }),
          build([n, m], ([i, j]) => (j - i === k ? 1 : 0)),
        );
      }),
      config,
    );
    await expectRef(
      np.eye(3),
      build([3, 3], ([i, j]) => (i === j ? 1 : 0)),
    );
  });
});

describe("unary math", () => {
  const cases: [string, (x: NpArray) => NpArray, (v: number) => number, number, number][] = [
    ["neg", np.neg, (v) => -v, -3, 3],
    ["exp", np.exp, Math.exp, -3, 3],
    ["log", np.log, Math.log, 0.01, 5],
    ["log1p", np.log1p, Math.log1p, -0.9, 5],
    ["expm1", np.expm1, Math.expm1, -3, 3],
    ["sqrt", np.sqrt, Math.sqrt, 0, 5],
    ["rsqrt", np.rsqrt, (v) => 1 / Math.sqrt(v), 0.01, 5],
    ["abs", np.abs, Math.abs, -3, 3],
    ["sign", np.sign, Math.sign, -3, 3],
    ["sin", np.sin, Math.sin, -5, 5],
    ["cos", np.cos, Math.cos, -5, 5],
    ["tanh", np.tanh, Math.tanh, -5, 5],
    ["sigmoid", np.sigmoid, (v) => 1 / (1 + Math.exp(-v)), -5, 5],
    ["floor", np.floor, Math.floor, -5, 5],
    ["ceil", np.ceil, Math.ceil, -5, 5],
    ["round", np.round, roundHalfEven, -5, 5],
  ];
  for (const [name, f, g, lo, hi] of cases) {
    // WebGPU computes in float32: within EXACT_F32 for exactly rounded ops, F32 for WGSL's transcendentals (a few ulp).
    const f32Tol = ["neg", "abs", "sign", "floor", "ceil", "round"].includes(name) ? 0 : ["sqrt"].includes(name) ? EXACT_F32 : F32;
    it(`${name} matches Math in ${FLOAT}`, async () => {
      await fc.assert(
        fc.asyncProperty(refArb(3, 4, 0, lo, hi), (r) => expectRef(f(toArray(r)), mapRef(r, g), 1e-14, name, f32Tol)),
        config,
      );
    });
  }
  it("round halves to even, as NumPy", async () => {
    await expectRef(np.round(np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5])), { shape: [6], data: [0, 2, 2, -0, -2, -2] });
  });
  it("float functions of int arrays compute in float32", async () => {
    const x = np.array([1, 4, 9], { dtype: "int32" });
    expect(np.sqrt(x).dtype).toBe("float32");
    await expectRef(np.sqrt(x), { shape: [3], data: [1, 2, 3] });
    expect(np.floor(x).dtype).toBe("int32");
  });
});

describe("binary math with broadcasting", () => {
  const cases: [string, (a: NpArray, b: NpArray) => NpArray, (x: number, y: number) => number, number, number][] = [
    ["add", np.add, (x, y) => x + y, -3, 3],
    ["sub", np.sub, (x, y) => x - y, -3, 3],
    ["mul", np.mul, (x, y) => x * y, -3, 3],
    ["div", np.div, (x, y) => x / y, 0.5, 3],
    ["pow", np.pow, Math.pow, 0.1, 3],
    ["maximum", np.maximum, Math.max, -3, 3],
    ["minimum", np.minimum, Math.min, -3, 3],
    ["equal", np.equal, (x, y) => +(x === y), -2, 2],
    ["notEqual", np.notEqual, (x, y) => +(x !== y), -2, 2],
    ["less", np.less, (x, y) => +(x < y), -2, 2],
    ["lessEqual", np.lessEqual, (x, y) => +(x <= y), -2, 2],
    ["greater", np.greater, (x, y) => +(x > y), -2, 2],
    ["greaterEqual", np.greaterEqual, (x, y) => +(x >= y), -2, 2],
    ["logicalAnd", np.logicalAnd, (x, y) => +(x !== 0 && y !== 0), -1, 1],
    ["logicalOr", np.logicalOr, (x, y) => +(x !== 0 || y !== 0), -1, 1],
  ];
  for (const [name, f, g, lo, hi] of cases) {
    // WebGPU computes in float32: add/sub/mul/max/min are exactly rounded, WGSL's div and pow take a few ulp.
    const f32Tol = name === "pow" || name === "div" ? F32 : EXACT_F32;
    it(`${name} equals the reference on broadcast shapes`, async () => {
      const comparison = /equal|less|greater|logical/i.test(name);
      await fc.assert(
        fc.asyncProperty(pairArb(lo, hi), fc.boolean(), async ([a, b], ints) => {
          // Integer-valued inputs make ties (and zeros for logical ops) common.
          const [ra, rb] = ints ? [mapRef(a, Math.round), mapRef(b, Math.round)] : [a, b];
          if (name === "div" || name === "pow") [ra.data, rb.data] = [a.data, b.data];
          const out = f(toArray(ra), toArray(rb));
          expect(out.dtype).toBe(comparison ? "bool" : FLOAT);
          await expectRef(out, binaryRef(ra, rb, g), 1e-14, name, comparison ? 0 : f32Tol);
        }),
        config,
      );
    });
  }

  it("logicalNot, where and clip", async () => {
    await fc.assert(
      fc.asyncProperty(pairArb(-2, 2), async ([a, b]) => {
        const ra = { shape: a.shape, data: a.data.map(Math.round) };
        await expectRef(
          np.logicalNot(toArray(ra)),
          mapRef(ra, (v) => +(v === 0)),
        );
        const shape = broadcastRule(a.shape, b.shape)!;
        await expectRef(
          np.where(toArray(ra), toArray(a), toArray(b)),
          build(shape, (i) => (bget(ra, i) !== 0 ? bget(a, i) : bget(b, i))),
        );
        await expectRef(
          np.where(np.greater(toArray(a), 0), toArray(b), -1),
          build(shape, (i) => (bget(a, i) > 0 ? bget(b, i) : -1)),
        );
        await expectRef(
          np.clip(toArray(a), -0.5, 1),
          mapRef(a, (v) => Math.min(Math.max(v, -0.5), 1)),
        );
        await expectRef(np.clip(toArray(a), null, toArray(b)), binaryRef(a, b, Math.min));
      }),
      config,
    );
  });
});

describe("astype and allclose", () => {
  it("astype truncates floats to ints, maps nonzero to true, and round-trips ints", async () => {
    await fc.assert(
      fc.asyncProperty(refArb(3, 4, 0, -100, 100), async (r) => {
        const x = toArray(r);
        await expectRef(np.astype(x, "int32"), mapRef(r, Math.trunc));
        await expectRef(
          np.astype(x, "bool"),
          mapRef(r, (v) => +(v !== 0)),
        );
        await expectRef(np.astype(x, "float32"), mapRef(r, Math.fround));
        const i = np.astype(x, "int32");
        await expectRef(np.astype(np.astype(i, FLOAT), "int32"), await ref(i));
        expect(x.astype("int32").dtype).toBe("int32");
      }),
      config,
    );
  });

  it("allclose follows |a - b| <= atol + rtol |b|, with infinities and NaN", async () => {
    await fc.assert(
      fc.asyncProperty(refArb(3, 4, 1), fc.double({ min: 0, max: 1e-3, noNaN: true }), async (r, d) => {
        const x = toArray(r);
        const y = toArray(mapRef(r, (v) => v + d));
        // On WebGPU y holds v + d rounded to float32, so the gap it sees is v - fround(v + d).
        const expected = onWebgpu
          ? r.data.every((v) => Math.abs(v - Math.fround(v + d)) <= 1e-8 + 1e-5 * Math.abs(Math.fround(v + d)))
          : r.data.every((v) => Math.abs(-d) <= 1e-8 + 1e-5 * Math.abs(v + d));
        expect(await truth(np.allclose(x, y))).toBe(expected);
        expect(await truth(np.allclose(x, y, { atol: 2e-3 }))).toBe(true);
      }),
      config,
    );
    expect(await truth(np.allclose(np.array([Infinity, 1]), np.array([Infinity, 1])))).toBe(true);
    expect(await truth(np.allclose(np.array([Infinity]), np.array([-Infinity])))).toBe(false);
    expect(await truth(np.allclose(np.array([1]), np.array([Infinity])))).toBe(false);
    expect(await truth(np.allclose(np.array([Infinity]), np.array([1])))).toBe(false);
    expect(await truth(np.allclose(np.array([NaN]), np.array([NaN])))).toBe(false);
    expect(await truth(np.allclose(np.array([NaN]), np.array([NaN]), { equalNan: true }))).toBe(true);
  });
});

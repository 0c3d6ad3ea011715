/** np creation and elementwise functions against plain-JS float64 references. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, type Array as NpArray } from "../../index.ts";
import { bget, broadcastPairArb, broadcastRule, build, config, expectRef, ref, refArb, shapeArb, toArray, valuesArb, type Ref } from "./np-reference.ts";

const roundHalfEven = (x: number) => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
const mapRef = (r: Ref, f: (v: number) => number): Ref => ({ shape: r.shape, data: r.data.map(f) });

const pairArb = (lo = -3, hi = 3) =>
  broadcastPairArb.chain(([sa, sb]) => fc.tuple(valuesArb(sa, lo, hi), valuesArb(sb, lo, hi)).map(([a, b]): [Ref, Ref] => [{ shape: sa, data: a }, { shape: sb, data: b }]));

function binaryRef(a: Ref, b: Ref, f: (x: number, y: number) => number): Ref {
  const shape = broadcastRule(a.shape, b.shape)!;
  return build(shape, (idx) => f(bget(a, idx), bget(b, idx)));
}

describe("creation", () => {
  it("zeros, ones, full, zerosLike, onesLike give the shape, dtype and value", () => {
    fc.assert(
      fc.property(shapeArb(), fc.constantFrom("float32", "int32", "bool", "float64" as const), (shape, dtype) => {
        const z = np.zeros(shape, { dtype });
        expect([z.shape, z.dtype]).toEqual([shape, dtype]);
        expect([...z.dataSync()].every((v) => v === 0)).toBe(true);
        expect([...np.ones(shape, { dtype }).dataSync()].every((v) => v === 1)).toBe(true);
        const f = np.full(shape, 7, { dtype: dtype === "bool" ? "int32" : dtype });
        expect([...f.dataSync()].every((v) => v === 7)).toBe(true);
        const zl = np.zerosLike(f);
        const ol = np.onesLike(f);
        expect([zl.shape, zl.dtype, ol.shape, ol.dtype]).toEqual([shape, f.dtype, shape, f.dtype]);
        expect([...ol.dataSync()].every((v) => v === 1) && [...zl.dataSync()].every((v) => v === 0)).toBe(true);
      }),
      config,
    );
    expect(np.zeros([2]).dtype).toBe("float32");
    expect(np.full([2], true).dtype).toBe("bool");
  });

  it("arange matches a JS loop (one, two and three arguments, negative and fractional steps)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 10 }), fc.integer({ min: -10, max: 10 }), fc.constantFrom(1, 2, 3, -1, -2, 0.5, -0.75), (start, stop, step) => {
        const expected: number[] = [];
        for (let v = start; step > 0 ? v < stop : v > stop; v += step) expected.push(v);
        const x = np.arange(start, stop, step);
        expect(x.dtype).toBe(Number.isInteger(step) ? "int32" : "float32");
        expectRef(x, { shape: [expected.length], data: expected }, 1e-6);
      }),
      config,
    );
    expectRef(np.arange(5), { shape: [5], data: [0, 1, 2, 3, 4] });
  });

  it("linspace includes the endpoint unless endpoint is false", () => {
    fc.assert(
      fc.property(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), fc.integer({ min: 0, max: 9 }), fc.boolean(), (a, b, num, endpoint) => {
        const div = endpoint ? num - 1 : num;
        const expected = [...Array(num).keys()].map((i) => (div > 0 ? a + ((b - a) * i) / div : a));
        if (endpoint && num > 1) expected[num - 1] = b;
        expectRef(np.linspace(a, b, num, { endpoint, dtype: "float64" }), { shape: [num], data: expected });
      }),
      config,
    );
  });

  it("eye has ones on diagonal k", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: -5, max: 5 }), (n, m, k) => {
        expectRef(np.eye(n, m, { k }), build([n, m], ([i, j]) => (j - i === k ? 1 : 0)));
      }),
      config,
    );
    expectRef(np.eye(3), build([3, 3], ([i, j]) => (i === j ? 1 : 0)));
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
    it(`${name} matches Math in float64`, () => {
      fc.assert(fc.property(refArb(3, 4, 0, lo, hi), (r) => expectRef(f(toArray(r)), mapRef(r, g), 1e-14, name)), config);
    });
  }
  it("round halves to even, as NumPy", () => {
    expectRef(np.round(np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5])), { shape: [6], data: [0, 2, 2, -0, -2, -2] });
  });
  it("float functions of int arrays compute in float32", () => {
    const x = np.array([1, 4, 9], { dtype: "int32" });
    expect(np.sqrt(x).dtype).toBe("float32");
    expectRef(np.sqrt(x), { shape: [3], data: [1, 2, 3] });
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
    it(`${name} equals the reference on broadcast shapes`, () => {
      const comparison = /equal|less|greater|logical/i.test(name);
      fc.assert(
        fc.property(pairArb(lo, hi), fc.boolean(), ([a, b], ints) => {
          // Integer-valued inputs make ties (and zeros for logical ops) common.
          const [ra, rb] = ints ? [mapRef(a, Math.round), mapRef(b, Math.round)] : [a, b];
          if (name === "div" || name === "pow") [ra.data, rb.data] = [a.data, b.data];
          const out = f(toArray(ra), toArray(rb));
          expect(out.dtype).toBe(comparison ? "bool" : "float64");
          expectRef(out, binaryRef(ra, rb, g), 1e-14, name);
        }),
        config,
      );
    });
  }

  it("logicalNot, where and clip", () => {
    fc.assert(
      fc.property(pairArb(-2, 2), ([a, b]) => {
        const ra = { shape: a.shape, data: a.data.map(Math.round) };
        expectRef(np.logicalNot(toArray(ra)), mapRef(ra, (v) => +(v === 0)));
        const shape = broadcastRule(a.shape, b.shape)!;
        expectRef(np.where(toArray(ra), toArray(a), toArray(b)), build(shape, (i) => (bget(ra, i) !== 0 ? bget(a, i) : bget(b, i))));
        expectRef(np.where(np.greater(toArray(a), 0), toArray(b), -1), build(shape, (i) => (bget(a, i) > 0 ? bget(b, i) : -1)));
        expectRef(np.clip(toArray(a), -0.5, 1), mapRef(a, (v) => Math.min(Math.max(v, -0.5), 1)));
        expectRef(np.clip(toArray(a), null, toArray(b)), binaryRef(a, b, Math.min));
      }),
      config,
    );
  });
});

describe("astype and allclose", () => {
  it("astype truncates floats to ints, maps nonzero to true, and round-trips ints", () => {
    fc.assert(
      fc.property(refArb(3, 4, 0, -100, 100), (r) => {
        const x = toArray(r);
        expectRef(np.astype(x, "int32"), mapRef(r, Math.trunc));
        expectRef(np.astype(x, "bool"), mapRef(r, (v) => +(v !== 0)));
        expectRef(np.astype(x, "float32"), mapRef(r, Math.fround));
        const i = np.astype(x, "int32");
        expectRef(np.astype(np.astype(i, "float64"), "int32"), ref(i));
        expect(x.astype("int32").dtype).toBe("int32");
      }),
      config,
    );
  });

  it("allclose follows |a - b| <= atol + rtol |b|, with infinities and NaN", () => {
    fc.assert(
      fc.property(refArb(3, 4, 1), fc.double({ min: 0, max: 1e-3, noNaN: true }), (r, d) => {
        const x = toArray(r);
        const y = toArray(mapRef(r, (v) => v + d));
        const expected = r.data.every((v) => Math.abs(-d) <= 1e-8 + 1e-5 * Math.abs(v + d));
        expect(np.allclose(x, y).item()).toBe(expected);
        expect(np.allclose(x, y, { atol: 2e-3 }).item()).toBe(true);
      }),
      config,
    );
    expect(np.allclose(np.array([Infinity, 1]), np.array([Infinity, 1])).item()).toBe(true);
    expect(np.allclose(np.array([Infinity]), np.array([-Infinity])).item()).toBe(false);
    expect(np.allclose(np.array([1]), np.array([Infinity])).item()).toBe(false);
    expect(np.allclose(np.array([Infinity]), np.array([1])).item()).toBe(false);
    expect(np.allclose(np.array([NaN]), np.array([NaN])).item()).toBe(false);
    expect(np.allclose(np.array([NaN]), np.array([NaN]), { equalNan: true }).item()).toBe(true);
  });
});

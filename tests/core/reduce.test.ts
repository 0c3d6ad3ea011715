/** np reductions over every subset of axes, with and without keepdims, against JS loops. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, type Array } from "../../index.ts";
import { FLOAT } from "../backend-under-test.ts";
import { build, config, expectRef, F32, ravel, reduceRef, ref, refArb, subsets, toArray, unravel, type Ref } from "./np-reference.ts";

/**
 * WebGPU's float32 tolerances, relative to 1 + |expected|: max and min pick an element
 * (exact); sums of up to 81 values in [-2, 2] (and the mean, variance and logsumexp built
 * on them) round at each of their additions, products at each factor.
 */
const F32_TOL: Record<string, number> = { sum: 1e-5, mean: 1e-5, var: 1e-5, max: 0, min: 0, prod: 2e-5, logsumexp: 1e-5 };

type AxisArg = number | number[] | null | undefined;

/** The same axis subset written the ways users write it: a list, negative axes, a number, or nothing for all. */
function axisForms(axes: number[], rank: number): AxisArg[] {
  const forms: AxisArg[] = [axes, axes.map((a) => a - rank).reverse()];
  if (axes.length === 1) forms.push(axes[0], axes[0] - rank);
  if (axes.length === rank) forms.push(undefined, null);
  return forms;
}

const sumRef = (r: Ref, axes: number[], keepdims: boolean) => reduceRef(r, axes, 0, (a, v) => a + v, keepdims);
const count = (r: Ref, axes: number[]) => axes.reduce((n, a) => n * r.shape[a], 1);

function meanRef(r: Ref, axes: number[], keepdims: boolean): Ref {
  const s = sumRef(r, axes, keepdims);
  return { shape: s.shape, data: s.data.map((v) => v / count(r, axes)) };
}

function varRef(r: Ref, axes: number[], keepdims: boolean): Ref {
  const m = meanRef(r, axes, true);
  const dev = {
    shape: r.shape,
    data: r.data.map(
      (v, i) =>
        (v -
          m.data[
            ravel(
              unravel(i, r.shape).map((k, d) => (axes.includes(d) ? 0 : k)),
              m.shape,
            )
          ]) **
        2,
    ),
  };
  return meanRef(dev, axes, keepdims);
}

const references: [string, (x: Array, opts: { axis?: AxisArg; keepdims?: boolean }) => Array, (r: Ref, axes: number[], keepdims: boolean) => Ref][] = [
  ["sum", np.sum, sumRef],
  ["mean", np.mean, meanRef],
  ["var", np.var, varRef],
  ["max", np.max, (r, axes, k) => reduceRef(r, axes, -Infinity, Math.max, k)],
  ["min", np.min, (r, axes, k) => reduceRef(r, axes, Infinity, Math.min, k)],
  ["prod", np.prod, (r, axes, k) => reduceRef(r, axes, 1, (a, v) => a * v, k)],
  [
    "logsumexp",
    np.logsumexp,
    (r, axes, k) => {
      const s = reduceRef({ shape: r.shape, data: r.data.map(Math.exp) }, axes, 0, (a, v) => a + v, k);
      return { shape: s.shape, data: s.data.map(Math.log) };
    },
  ],
];

describe("reductions over every axis subset", () => {
  for (const [name, f, reference] of references) {
    it(`${name} with { axis, keepdims }`, async () => {
      await fc.assert(
        fc.asyncProperty(refArb(4, 3, 0, -2, 2), fc.nat(), async (r, pick) => {
          const x = toArray(r);
          for (const axes of subsets(r.shape.length)) {
            const forms = axisForms(axes, r.shape.length);
            const axis = forms[pick % forms.length];
            for (const keepdims of [false, true]) {
              const out = f(x, { axis, keepdims });
              expect(out.dtype, name).toBe(FLOAT);
              await expectRef(out, reference(r, axes, keepdims), 1e-12, `${name} axis=${JSON.stringify(axis)} keepdims=${keepdims}`, F32_TOL[name]);
            }
          }
          await expectRef(f(x, {}), reference(r, [...r.shape.keys()], false), 1e-12, `${name} of everything`, F32_TOL[name]);
        }),
        config,
      );
    });
  }

  it("methods mirror the functions", async () => {
    const x = np.array(
      [
        [1, 5, 2],
        [4, 0, 3],
      ],
      { dtype: FLOAT },
    );
    await expectRef(x.sum({ axis: 1 }), { shape: [2], data: [8, 7] });
    await expectRef(x.mean({ axis: 0, keepdims: true }), { shape: [1, 3], data: [2.5, 2.5, 2.5] });
    await expectRef(x.max(), { shape: [], data: [5] });
    await expectRef(x.min({ axis: -1 }), { shape: [2], data: [1, 0] });
    await expectRef(x.prod({ axis: 0 }), { shape: [3], data: [4, 0, 6] });
    await expectRef(x.var({ axis: 1 }), { shape: [2], data: [26 / 9, 26 / 9] }, 1e-12, "var", F32);
    await expectRef(x.argmax({ axis: 1 }), { shape: [2], data: [1, 0] });
  });

  it("int reductions keep the dtype; bool sums count", async () => {
    const i = np.array(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: "int32" },
    );
    expect(np.sum(i, { axis: 0 }).dtype).toBe("int32");
    expect(np.max(i).dtype).toBe("int32");
    await expectRef(np.prod(i), { shape: [], data: [24] });
    await expectRef(
      np.sum(
        np.array([
          [true, false],
          [true, true],
        ]),
        { axis: 1 },
      ),
      { shape: [2], data: [1, 2] },
    );
  });
});

describe("argmax and argmin", () => {
  function argRef(r: Ref, axis: number | null, better: (v: number, b: number) => boolean, keepdims: boolean): Ref {
    if (axis === null) {
      let bi = 0;
      r.data.forEach((v, i) => (better(v, r.data[bi]) ? (bi = i) : 0));
      return { shape: keepdims ? r.shape.map(() => 1) : [], data: [bi] };
    }
    const outShape = r.shape.map((n, d) => (d === axis ? 1 : n));
    const res = build(outShape, (idx) => {
      let bi = 0;
      for (let k = 1; k < r.shape[axis]; k++) {
        const at = (j: number) =>
          r.data[
            ravel(
              idx.map((v, d) => (d === axis ? j : v)),
              r.shape,
            )
          ];
        if (better(at(k), at(bi))) bi = k;
      }
      return bi;
    });
    return keepdims ? res : { shape: r.shape.filter((_, d) => d !== axis), data: res.data };
  }

  for (const [name, f, better] of [
    ["argmax", np.argmax, (v: number, b: number) => v > b],
    ["argmin", np.argmin, (v: number, b: number) => v < b],
  ] as const) {
    it(`${name} along every axis and over everything, returning the first of ties`, async () => {
      await fc.assert(
        fc.asyncProperty(refArb(4, 3, 1, -2, 2), fc.boolean(), async (r0, ints) => {
          const r = ints ? { shape: r0.shape, data: r0.data.map(Math.round) } : r0;
          const x = toArray(r);
          for (const keepdims of [false, true]) {
            for (let axis = 0; axis < r.shape.length; axis++) {
              const out = f(x, { axis: axis - (keepdims ? r.shape.length : 0), keepdims });
              expect(out.dtype).toBe("int32");
              await expectRef(out, argRef(r, axis, better, keepdims), 0, `${name} axis ${axis}`);
            }
            await expectRef(f(x, { keepdims }), argRef(r, null, better, keepdims), 0, `${name} of everything`);
          }
        }),
        config,
      );
    });
  }
});

describe("softmax and logSoftmax", () => {
  it("equal exp(x) / sum(exp(x)) and x - logsumexp(x) along every axis", async () => {
    await fc.assert(
      fc.asyncProperty(refArb(4, 3, 1, -5, 5), async (r) => {
        const x = toArray(r);
        for (let axis = -r.shape.length; axis < r.shape.length; axis++) {
          const a = axis < 0 ? axis + r.shape.length : axis;
          const s = reduceRef({ shape: r.shape, data: r.data.map(Math.exp) }, [a], 0, (p, v) => p + v, true);
          const denom = (i: number) =>
            s.data[
              ravel(
                unravel(i, r.shape).map((k, d) => (d === a ? 0 : k)),
                s.shape,
              )
            ];
          // WebGPU: float32 exp and sums of a few terms, well inside 1e-5.
          await expectRef(np.softmax(x, { axis }), { shape: r.shape, data: r.data.map((v, i) => Math.exp(v) / denom(i)) }, 1e-12, `softmax axis ${axis}`, 1e-5);
          await expectRef(np.logSoftmax(x, { axis }), { shape: r.shape, data: r.data.map((v, i) => v - Math.log(denom(i))) }, 1e-12, `logSoftmax axis ${axis}`, 1e-5);
        }
        await expectRef(x.softmax(), await ref(np.softmax(x, { axis: -1 })), 0);
      }),
      config,
    );
  });

  it("are stable for large inputs", async () => {
    const x = np.array([1000, 1001, 1002], { dtype: FLOAT });
    const e = [0, 1, 2].map((v) => Math.exp(v - 2));
    const z = e.reduce((a, b) => a + b);
    await expectRef(np.softmax(x), { shape: [3], data: e.map((v) => v / z) }, 1e-12, "softmax", F32);
    await expectRef(np.logsumexp(x), { shape: [], data: [1002 + Math.log(z)] }, 1e-12, "logsumexp", F32);
    await expectRef(np.logsumexp(np.array([-Infinity, -Infinity], { dtype: FLOAT })), { shape: [], data: [-Infinity] });
  });
});

/** np shape manipulation and indexing against reference loops over multi-indices. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np } from "../../index.ts";
import { at, build, held, config, expectRef, refArb, shapeArb, size, toArray, valuesArb, type Ref } from "./np-reference.ts";

const permArb = (n: number) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });
const withAxis = (minRank = 1) => refArb(4, 3, minRank).chain((r) => fc.tuple(fc.constant(r), fc.integer({ min: 0, max: r.shape.length - 1 })));
const neg = (axis: number, rank: number, flip: boolean) => (flip ? axis - rank : axis);

/** Python's range for x[start:stop:step] on an axis of length n. */
export function sliceIndices(n: number, start: number | null, stop: number | null, step: number): number[] {
  const norm = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
  const s = start === null ? (step > 0 ? 0 : n - 1) : step > 0 ? norm(start, 0, n) : norm(start, -1, n - 1);
  const e = stop === null ? (step > 0 ? n : -1) : step > 0 ? norm(stop, 0, n) : norm(stop, -1, n - 1);
  const out: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
}

describe("reshape, transpose, expandDims, squeeze", () => {
  it("reshape keeps row-major order and infers one -1", async () => {
    await fc.assert(
      fc.asyncProperty(refArb(4, 3), fc.nat(), async (r, k) => {
        const n = size(r.shape);
        const target = [n];
        const withUnknown = k % 2 === 0 ? [-1] : [1, -1, 1];
        await expectRef(np.reshape(toArray(r), target), { shape: target, data: r.data }, 0);
        await expectRef(np.reshape(toArray(r), withUnknown), { shape: withUnknown.map((d) => (d === -1 ? n : d)), data: r.data }, 0);
        await expectRef(toArray(r).reshape([...r.shape].reverse()), { shape: [...r.shape].reverse(), data: r.data }, 0);
        await expectRef(toArray(r).flatten(), { shape: [n], data: r.data }, 0);
      }),
      config,
    );
  });

  it("transpose permutes indices (reverse when no axes are given)", async () => {
    await fc.assert(
      fc.asyncProperty(
        refArb(4, 3).chain((r) => fc.tuple(fc.constant(r), permArb(r.shape.length), fc.boolean())),
        async ([r, perm, negative]) => {
          const shape = perm.map((p) => r.shape[p]);
          const expected = build(shape, (idx) =>
            at(
              r,
              r.shape.map((_, d) => idx[perm.indexOf(d)]),
            ),
          );
          await expectRef(
            np.transpose(
              toArray(r),
              perm.map((p) => neg(p, r.shape.length, negative)),
            ),
            expected,
            0,
          );
          const rev = [...r.shape.keys()].reverse();
          await expectRef(
            np.transpose(toArray(r)),
            build(
              rev.map((p) => r.shape[p]),
              (idx) => at(r, [...idx].reverse()),
            ),
            0,
          );
          await expectRef(
            toArray(r).T,
            build(
              rev.map((p) => r.shape[p]),
              (idx) => at(r, [...idx].reverse()),
            ),
            0,
          );
        },
      ),
      config,
    );
  });

  it("expandDims inserts size-1 axes; squeeze removes them", async () => {
    await fc.assert(
      fc.asyncProperty(refArb(3, 3), fc.nat(), fc.boolean(), async (r, k, negative) => {
        const rank = r.shape.length + 1;
        const axis = k % rank;
        const shape = [...r.shape.slice(0, axis), 1, ...r.shape.slice(axis)];
        const x = np.expandDims(toArray(r), neg(axis, rank, negative));
        await expectRef(x, { shape, data: r.data }, 0);
        await expectRef(np.squeeze(x, axis), r, 0);
        await expectRef(np.squeeze(x), { shape: shape.filter((n) => n !== 1), data: r.data }, 0);
        await expectRef(np.expandDims(toArray(r), [0, rank]), { shape: [1, ...r.shape, 1], data: r.data }, 0);
      }),
      config,
    );
  });
});

describe("joining and splitting", () => {
  const concatArb = withAxis().chain(([r, axis]) =>
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }).chain((sizes) =>
      fc
        .tuple(
          ...sizes.map((n) => {
            const shape = r.shape.map((d, i) => (i === axis ? n : d));
            return valuesArb(shape).map((data): Ref => ({ shape, data }));
          }),
        )
        .map((parts) => [parts, axis] as const),
    ),
  );

  it("concatenate places the parts one after another along the axis", async () => {
    await fc.assert(
      fc.asyncProperty(concatArb, fc.boolean(), async ([parts, axis], negative) => {
        const shape = [...parts[0].shape];
        shape[axis] = parts.reduce((n, p) => n + p.shape[axis], 0);
        const expected = build(shape, (idx) => {
          let k = idx[axis];
          for (const p of parts) {
            if (k < p.shape[axis])
              return at(
                p,
                idx.map((v, d) => (d === axis ? k : v)),
              );
            k -= p.shape[axis];
          }
          throw new Error("unreachable");
        });
        await expectRef(
          np.concatenate(
            parts.map((p) => toArray(p)),
            { axis: neg(axis, shape.length, negative) },
          ),
          expected,
          0,
        );
      }),
      config,
    );
  });

  it("stack adds a new axis; split undoes concatenate", async () => {
    await fc.assert(
      fc.asyncProperty(refArb(3, 3), fc.integer({ min: 1, max: 3 }), fc.nat(), async (r, count, k) => {
        const rank = r.shape.length + 1;
        const axis = k % rank;
        const parts = Array.from({ length: count }, (_, j) => ({ shape: r.shape, data: r.data.map((v) => held(v + j)) }));
        const shape = [...r.shape.slice(0, axis), count, ...r.shape.slice(axis)];
        const expected = build(shape, (idx) =>
          at(
            parts[idx[axis]],
            idx.filter((_, d) => d !== axis),
          ),
        );
        const stacked = np.stack(
          parts.map((p) => toArray(p)),
          { axis },
        );
        await expectRef(stacked, expected, 0);
        const pieces = np.split(stacked, count, { axis });
        expect(pieces.length).toBe(count);
        for (const [j, p] of pieces.entries()) await expectRef(np.squeeze(p, axis), parts[j], 0);
      }),
      config,
    );
  });

  it("split at indices matches slicing (indices clamp, negatives count from the end)", async () => {
    await fc.assert(
      fc.asyncProperty(withAxis(), fc.array(fc.integer({ min: -4, max: 5 }), { maxLength: 3 }), async ([r, axis], cuts) => {
        const n = r.shape[axis];
        const bounds = [0, ...cuts.map((c) => Math.min(Math.max(c < 0 ? c + n : c, 0), n)), n];
        const pieces = np.split(toArray(r), cuts, { axis });
        expect(pieces.length).toBe(cuts.length + 1);
        for (const [j, p] of pieces.entries()) {
          const lo = bounds[j];
          const len = Math.max(0, bounds[j + 1] - lo);
          await expectRef(
            p,
            build(
              r.shape.map((d, i) => (i === axis ? len : d)),
              (idx) =>
                at(
                  r,
                  idx.map((v, d) => (d === axis ? v + lo : v)),
                ),
            ),
            0,
          );
        }
      }),
      config,
    );
  });
});

describe("pad, flip, roll, tile", () => {
  it("pad surrounds with a constant", async () => {
    await fc.assert(
      fc.asyncProperty(
        refArb(3, 3).chain((r) => fc.tuple(fc.constant(r), fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: r.shape.length, maxLength: r.shape.length }))),
        fc.integer({ min: -3, max: 3 }),
        async ([r, widths], c) => {
          const shape = r.shape.map((n, i) => n + widths[i][0] + widths[i][1]);
          const expected = build(shape, (idx) => {
            const src = idx.map((v, d) => v - widths[d][0]);
            return src.every((v, d) => v >= 0 && v < r.shape[d]) ? at(r, src) : c;
          });
          await expectRef(np.pad(toArray(r), widths, { constantValues: c }), expected, 0);
          if (r.shape.length > 0)
            expectRef(
              np.pad(toArray(r), 1),
              build(
                r.shape.map((n) => n + 2),
                (idx) =>
                  idx.every((v, d) => v >= 1 && v <= r.shape[d])
                    ? at(
                        r,
                        idx.map((v) => v - 1),
                      )
                    : 0,
              ),
              0,
            );
        },
      ),
      config,
    );
  });

  it("flip reverses the given axes (all by default)", async () => {
    await fc.assert(
      fc.asyncProperty(
        refArb(4, 3).chain((r) => fc.tuple(fc.constant(r), fc.subarray([...r.shape.keys()]))),
        async ([r, axes]) => {
          const expected = build(r.shape, (idx) =>
            at(
              r,
              idx.map((v, d) => (axes.includes(d) ? r.shape[d] - 1 - v : v)),
            ),
          );
          await expectRef(np.flip(toArray(r), { axis: axes }), expected, 0);
          await expectRef(
            np.flip(toArray(r)),
            build(r.shape, (idx) =>
              at(
                r,
                idx.map((v, d) => r.shape[d] - 1 - v),
              ),
            ),
            0,
          );
        },
      ),
      config,
    );
  });

  it("roll shifts cyclically along an axis, or over the flattened array", async () => {
    await fc.assert(
      fc.asyncProperty(withAxis(), fc.integer({ min: -7, max: 7 }), async ([r, axis], shift) => {
        const n = r.shape[axis];
        const mod = (a: number, m: number) => ((a % m) + m) % m;
        await expectRef(
          np.roll(toArray(r), shift, { axis }),
          build(r.shape, (idx) =>
            at(
              r,
              idx.map((v, d) => (d === axis ? mod(v - shift, n) : v)),
            ),
          ),
          0,
        );
        const total = r.data.length;
        await expectRef(np.roll(toArray(r), shift), { shape: r.shape, data: r.data.map((_, i) => r.data[mod(i - shift, total)]) }, 0);
      }),
      config,
    );
  });

  it("tile repeats along each axis, padding reps or shape with leading 1s", async () => {
    await fc.assert(
      fc.asyncProperty(refArb(3, 3), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }), async (r, reps) => {
        const rank = Math.max(r.shape.length, reps.length);
        const xs = [...Array(rank - r.shape.length).fill(1), ...r.shape];
        const rr = [...Array(rank - reps.length).fill(1), ...reps];
        const expected = build(
          xs.map((n, i) => n * rr[i]),
          (idx) =>
            at(
              { shape: xs, data: r.data },
              idx.map((v, d) => v % xs[d]),
            ),
        );
        await expectRef(np.tile(toArray(r), reps), expected, 0);
      }),
      config,
    );
  });
});

describe("take, takeAlongAxis, slice", () => {
  it("take gathers along an axis (negative indices count from the end), or from the flattened array", async () => {
    await fc.assert(
      fc.asyncProperty(withAxis(), shapeArb(2, 3), fc.nat(), async ([r, axis], iShape, seed) => {
        const n = r.shape[axis];
        const idx = build(iShape, (_) => 0);
        idx.data = idx.data.map((_, i) => ((seed + i * 7) % (2 * n)) - n);
        const norm = (k: number) => (k < 0 ? k + n : k);
        const shape = [...r.shape.slice(0, axis), ...iShape, ...r.shape.slice(axis + 1)];
        const expected = build(shape, (o) => {
          const k = norm(at(idx, o.slice(axis, axis + iShape.length)));
          return at(r, [...o.slice(0, axis), k, ...o.slice(axis + iShape.length)]);
        });
        await expectRef(np.take(toArray(r), toArray(idx, "int32"), { axis }), expected, 0);
        await expectRef(toArray(r).take(toArray(idx, "int32"), { axis }), expected, 0);
        const total = r.data.length;
        const flat = { shape: iShape, data: idx.data.map((v) => (v < 0 ? v + n : v) % total) };
        await expectRef(np.take(toArray(r), toArray(flat, "int32")), { shape: iShape, data: flat.data.map((k) => r.data[k]) }, 0);
        await expectRef(
          np.take(toArray(r), [0, -1], { axis }),
          build([...r.shape.slice(0, axis), 2, ...r.shape.slice(axis + 1)], (o) =>
            at(
              r,
              o.map((v, d) => (d === axis ? (v === 0 ? 0 : n - 1) : v)),
            ),
          ),
          0,
        );
      }),
      config,
    );
  });

  it("takeAlongAxis picks per position along the axis, broadcasting the other axes both ways", async () => {
    await fc.assert(
      fc.asyncProperty(withAxis(), fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }), fc.nat(), async ([r, axis], m, other, seed) => {
        const n = r.shape[axis];
        // Other axes: the array's size, or 1 (the indices broadcast), or any size where the array has 1.
        const iShape = r.shape.map((d, i) => (i === axis ? m : d === 1 ? other[i] : (seed >> i) & 1 ? 1 : d));
        const idx = build(iShape, (o) => ((seed + o.reduce((a, b) => a * 3 + b, 0)) % (2 * n)) - n);
        const shape = r.shape.map((d, i) => (i === axis ? m : Math.max(d, iShape[i])));
        const expected = build(shape, (o) => {
          const k = at(
            idx,
            o.map((v, d) => (iShape[d] === 1 ? 0 : v)),
          );
          return at(
            r,
            o.map((v, d) => (d === axis ? (k < 0 ? k + n : k) : r.shape[d] === 1 ? 0 : v)),
          );
        });
        await expectRef(np.takeAlongAxis(toArray(r), toArray(idx, "int32"), { axis }), expected, 0);
        const am = np.expandDims(np.argmax(toArray(r), { axis }), axis);
        await expectRef(np.squeeze(np.takeAlongAxis(toArray(r), am, { axis }), axis), { shape: r.shape.filter((_, d) => d !== axis), data: [...(await np.max(toArray(r), { axis }).data())] }, 0);
      }),
      config,
    );
  });

  const specArb = (n: number) =>
    fc.oneof(
      fc.constant(null),
      fc.integer({ min: -n, max: n - 1 }),
      fc.tuple(fc.option(fc.integer({ min: -n - 2, max: n + 2 })), fc.option(fc.integer({ min: -n - 2, max: n + 2 })), fc.constantFrom(1, 2, 3, -1, -2, -3, null)),
    );

  it("x.slice follows Python slicing, negative steps included", async () => {
    await fc.assert(
      fc.asyncProperty(
        refArb(3, 5, 1).chain((r) => fc.tuple(fc.constant(r), fc.tuple(...r.shape.map(specArb)))),
        async ([r, specs]) => {
          const used = specs.slice(0, specs.length - (specs.length > 1 && specs[specs.length - 1] === null ? 1 : 0));
          const picks = r.shape.map((n, d) => {
            const s = specs[d];
            if (s === null) return [...Array(n).keys()];
            if (typeof s === "number") return [s < 0 ? s + n : s];
            return sliceIndices(n, s[0], s[1], s[2] ?? 1);
          });
          const kept = r.shape.map((_, d) => typeof specs[d] !== "number");
          const full = build(
            picks.map((p) => p.length),
            (o) =>
              at(
                r,
                o.map((v, d) => picks[d][v]),
              ),
          );
          const expected = { shape: full.shape.filter((_, d) => kept[d]), data: full.data };
          await expectRef(toArray(r).slice(...used), expected, 0);
        },
      ),
      config,
    );
  });

  it("x.slice rejects out-of-range integer indices and zero steps", async () => {
    const x = np.zeros([3, 4]);
    expect(() => x.slice(3)).toThrow(/index 3 is out of bounds for axis 0 with size 3/);
    expect(() => x.slice(null, [0, 4, 0])).toThrow(/step must be a non-zero integer/);
  });
});

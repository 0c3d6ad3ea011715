/** matmul, dot, einsum, outer against summation loops. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np } from "../../index.ts";
import { FLOAT } from "../backend-under-test.ts";
import { at, bget, broadcastPairArb, broadcastRule, build, config, EXACT_F32, expectRef, toArray, valuesArb, type Ref } from "./np-reference.ts";

/**
 * WebGPU sums in float32: a few products of values up to 3 (terms up to 9, sums up to ~50)
 * carry an absolute error of some k * 9 * eps, which cancellation can leave beside a small
 * result, so 1e-5 relative to 1 + |result|.
 */
const SUM_F32 = 1e-5;

const refOf = (shape: number[]) => valuesArb(shape).map((data): Ref => ({ shape, data }));
const dim = fc.integer({ min: 1, max: 3 });

/** NumPy matmul: vectors are promoted to matrices and the added axis removed; batch axes broadcast. */
function matmulRef(a: Ref, b: Ref): Ref {
  const A = a.shape.length === 1 ? { shape: [1, ...a.shape], data: a.data } : a;
  const B = b.shape.length === 1 ? { shape: [...b.shape, 1], data: b.data } : b;
  const batch = broadcastRule(A.shape.slice(0, -2), B.shape.slice(0, -2))!;
  const [m, k] = A.shape.slice(-2);
  const n = B.shape[B.shape.length - 1];
  const out = build([...batch, m, n], (idx) => {
    const bi = idx.slice(0, -2);
    const [i, j] = idx.slice(-2);
    let s = 0;
    for (let t = 0; t < k; t++) {
      s += bgetMat(A, bi, i, t) * bgetMat(B, bi, t, j);
    }
    return s;
  });
  const shape = [...batch, ...(a.shape.length === 1 ? [] : [m]), ...(b.shape.length === 1 ? [] : [n])];
  return { shape, data: out.data };
}

/** Element [i, j] of the matrix at broadcast batch index `bi`. */
function bgetMat(x: Ref, bi: number[], i: number, j: number): number {
  const bs = x.shape.slice(0, -2);
  const off = bi.length - bs.length;
  return at(x, [...bs.map((n, d) => (n === 1 ? 0 : bi[d + off])), i, j]);
}

describe("matmul", () => {
  const matmulArb = fc
    .tuple(
      broadcastPairArb.map(([a, b]) => [a.slice(-2), b.slice(-2)]),
      dim,
      dim,
      dim,
      fc.constantFrom("mm", "vm", "mv", "vv"),
    )
    .chain(([[ba, bb], m, k, n, kind]) => {
      const sa = kind[0] === "v" ? [k] : [...ba, m, k];
      const sb = kind[1] === "v" ? [k] : [...bb, k, n];
      return fc.tuple(refOf(sa), refOf(sb));
    });

  it("equals the summation loop, with 1-D operands and broadcast batch axes", async () => {
    await fc.assert(
      fc.asyncProperty(matmulArb, async ([a, b]) => {
        const out = np.matmul(toArray(a), toArray(b));
        await expectRef(out, matmulRef(a, b), 1e-12, "matmul", SUM_F32);
        await expectRef(toArray(a).matmul(toArray(b)), matmulRef(a, b), 1e-12, "matmul", SUM_F32);
      }),
      config,
    );
  });

  it("int matmul stays int32", async () => {
    const a = np.array(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: "int32" },
    );
    const out = np.matmul(a, a);
    expect(out.dtype).toBe("int32");
    await expectRef(out, { shape: [2, 2], data: [7, 10, 15, 22] }, 0);
  });
});

describe("dot and outer", () => {
  const dotArb = fc.tuple(fc.array(dim, { maxLength: 3 }), fc.array(dim, { maxLength: 3 }), dim).chain(([sa, sb, k]) => {
    const a = sa.length === 0 ? [] : [...sa.slice(1), k];
    const b = sb.length === 0 ? [] : sb.length === 1 ? [k] : [...sb.slice(2), k, sb[0]];
    return fc.tuple(refOf(a), refOf(b));
  });

  it("dot is a product of scalars, an inner product, or a sum over a's last and b's second-to-last axis", async () => {
    await fc.assert(
      fc.asyncProperty(dotArb, async ([a, b]) => {
        let expected: Ref;
        if (a.shape.length === 0 || b.shape.length === 0) {
          const shape = broadcastRule(a.shape, b.shape)!;
          expected = build(shape, (i) => bget(a, i) * bget(b, i));
        } else {
          const k = a.shape[a.shape.length - 1];
          const bAxis = b.shape.length === 1 ? 0 : b.shape.length - 2;
          const bRest = b.shape.filter((_, d) => d !== bAxis);
          expected = build([...a.shape.slice(0, -1), ...bRest], (idx) => {
            const ia = idx.slice(0, a.shape.length - 1);
            const ib = idx.slice(a.shape.length - 1);
            let s = 0;
            for (let t = 0; t < k; t++) s += at(a, [...ia, t]) * at(b, [...ib.slice(0, bAxis), t, ...ib.slice(bAxis)]);
            return s;
          });
        }
        await expectRef(np.dot(toArray(a), toArray(b)), expected, 1e-12, "dot", SUM_F32);
      }),
      config,
    );
  });

  it("outer multiplies every pair of (flattened) elements", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(dim, { maxLength: 2 }).chain(refOf), fc.array(dim, { maxLength: 2 }).chain(refOf), async (a, b) => {
        await expectRef(
          np.outer(toArray(a), toArray(b)),
          build([a.data.length, b.data.length], ([i, j]) => a.data[i] * b.data[j]),
          0,
          "outer",
          EXACT_F32,
        );
      }),
      config,
    );
  });
});

describe("einsum", () => {
  const LETTERS = "abcde";
  /** Random operands over shared letters (each letter one size), and an explicit or implicit output. */
  const einsumArb = fc
    .tuple(fc.array(dim, { minLength: 5, maxLength: 5 }), fc.array(fc.shuffledSubarray([...LETTERS], { minLength: 0, maxLength: 3 }), { minLength: 1, maxLength: 3 }), fc.boolean(), fc.nat())
    .chain(([sizes, inputs, explicit, seed]) => {
      const used = [...new Set(inputs.flat())];
      const output = explicit ? used.filter((_, i) => (seed >> i) & 1).reverse() : null;
      const shapes = inputs.map((s) => s.map((c) => sizes[LETTERS.indexOf(c)]));
      return fc.tuple(fc.constant({ sizes, inputs, output }), fc.tuple(...shapes.map(refOf)));
    });

  function einsumRef(sizes: number[], inputs: string[][], output: string[] | null, ops: Ref[]): Ref {
    const counts = new Map<string, number>();
    inputs.flat().forEach((c) => counts.set(c, (counts.get(c) ?? 0) + 1));
    const out = output ?? [...counts.keys()].filter((c) => counts.get(c) === 1).sort();
    const all = [...new Set(inputs.flat())];
    const summed = all.filter((c) => !out.includes(c));
    const size = (c: string) => sizes[LETTERS.indexOf(c)];
    return build(out.map(size), (oi) => {
      let total = 0;
      const sumShape = summed.map(size);
      const n = sumShape.reduce((a, b) => a * b, 1);
      for (let s = 0; s < n; s++) {
        const env = new Map<string, number>();
        out.forEach((c, i) => env.set(c, oi[i]));
        let rem = s;
        for (let i = summed.length - 1; i >= 0; i--) {
          env.set(summed[i], rem % sumShape[i]);
          rem = Math.floor(rem / sumShape[i]);
        }
        total += ops.reduce(
          (p, op, k) =>
            p *
            at(
              op,
              inputs[k].map((c) => env.get(c)!),
            ),
          1,
        );
      }
      return total;
    });
  }

  it("equals the sum over all letters not in the output", async () => {
    await fc.assert(
      fc.asyncProperty(einsumArb, async ([{ sizes, inputs, output }, ops]) => {
        const spec = inputs.map((s) => s.join("")).join(",") + (output ? `->${output.join("")}` : "");
        await expectRef(np.einsum(spec, ...ops.map((o) => toArray(o))), einsumRef(sizes, inputs, output, ops), 1e-12, spec, SUM_F32);
      }),
      config,
    );
  });

  it("common forms: matmul, batch matmul, trace-free transpose, outer", async () => {
    const a = np.arange(6, undefined, 1, { dtype: FLOAT }).reshape([2, 3]);
    const b = np.arange(12, undefined, 1, { dtype: FLOAT }).reshape([3, 4]);
    await expectRef(np.einsum("ij,jk->ik", a, b), matmulRef({ shape: [2, 3], data: [0, 1, 2, 3, 4, 5] }, { shape: [3, 4], data: [...Array(12).keys()] }), 0);
    await expectRef(np.einsum("ij->ji", a), { shape: [3, 2], data: [0, 3, 1, 4, 2, 5] }, 0);
    await expectRef(np.einsum("i,j->ij", np.array([1, 2]), np.array([3, 4, 5])), { shape: [2, 3], data: [3, 4, 5, 6, 8, 10] }, 0);
  });
});

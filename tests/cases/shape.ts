/** Property cases for core/primitives/shape.ts: random shapes and random (valid) params. */
import type { DType } from "../../core/dtype.ts";
import type { PrimCase, Rng } from "./types.ts";

export function permutation(rng: Rng, n: number): number[] {
  const p = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** A random sorted subset of 0..n-1. */
export function subset(rng: Rng, n: number): number[] {
  return [...Array(n).keys()].filter(() => rng.next() < 0.5);
}

/** A random shape with the same number of elements as `shape` (prime factors dealt out, plus 1s). */
export function refactor(rng: Rng, shape: number[]): number[] {
  let n = shape.reduce((a, b) => a * b, 1);
  const primes: number[] = [];
  for (let p = 2; n > 1; p++) {
    while (n % p === 0) {
      primes.push(p);
      n /= p;
    }
  }
  const rank = rng.int(primes.length === 0 ? 0 : 1, 4);
  if (rank === 0) return [];
  const out = new Array<number>(rank).fill(1);
  for (const p of primes) out[rng.int(0, rank)] *= p;
  return out;
}

/** Mostly float64 (differentiable); sometimes int32 or bool to exercise other kernels. */
const dtypeOf = (rng: Rng): DType => rng.pick<DType>(["float64", "float64", "float64", "int32", "bool"]);

export const cases: PrimCase[] = [
  {
    prim: "reshape",
    make: (rng) => {
      const s = rng.shape();
      return { args: [rng.array(s, dtypeOf(rng), -5, 5)], params: { newShape: refactor(rng, s) } };
    },
  },
  {
    prim: "transpose",
    make: (rng) => {
      const s = rng.shape(4, 4);
      return { args: [rng.array(s, dtypeOf(rng), -5, 5)], params: { perm: permutation(rng, s.length) } };
    },
  },
  {
    prim: "broadcast_in_dim",
    make: (rng) => {
      const inRank = rng.int(0, 3);
      const outRank = inRank + rng.int(0, 3);
      // The operand's axes land on a random increasing subset of the output axes.
      const dims = permutation(rng, outRank)
        .slice(0, inRank)
        .sort((a, b) => a - b);
      const shape = Array.from({ length: outRank }, () => rng.int(1, 4));
      const xShape = dims.map((d) => (rng.next() < 0.3 ? 1 : shape[d]));
      return { args: [rng.array(xShape, dtypeOf(rng), -5, 5)], params: { shape, broadcastDimensions: dims } };
    },
  },
  {
    prim: "slice",
    make: (rng) => {
      const s = rng.shape(3, 6);
      const start: number[] = [];
      const limit: number[] = [];
      const strides: number[] = [];
      for (const n of s) {
        const a = rng.int(0, n + 1);
        start.push(a);
        limit.push(rng.int(a, n + 1));
        strides.push(rng.int(1, 4));
      }
      return { args: [rng.array(s, dtypeOf(rng), -5, 5)], params: { start, limit, strides } };
    },
  },
  {
    prim: "pad",
    make: (rng) => {
      const s = rng.shape(3, 4);
      // Negative lo/hi crop (into the interior padding too); the output never has a negative size.
      const config = s.map((n) => {
        const interior = rng.int(0, 3);
        const full = n + Math.max(0, n - 1) * interior;
        const lo = rng.int(-Math.min(2, full), 3);
        const hi = rng.int(-Math.min(2, full + lo), 3);
        return [lo, hi, interior];
      });
      const dtype = rng.pick<DType>(["float64", "float64", "int32"]);
      return { args: [rng.array(s, dtype, -5, 5), rng.array([], dtype, -5, 5)], params: { config } };
    },
  },
  {
    prim: "concatenate",
    make: (rng) => {
      const s = rng.shape(3, 3, 1);
      const axis = rng.int(0, s.length);
      const count = rng.int(1, 4);
      const dtype = dtypeOf(rng);
      const args = Array.from({ length: count }, () => {
        const t = [...s];
        t[axis] = rng.int(0, 4);
        return rng.array(t, dtype, -5, 5);
      });
      return { args, params: { axis } };
    },
  },
  {
    prim: "rev",
    make: (rng) => {
      const s = rng.shape(3, 4);
      return { args: [rng.array(s, dtypeOf(rng), -5, 5)], params: { axes: subset(rng, s.length) } };
    },
  },
];

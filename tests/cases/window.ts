/**
 * Property-suite cases for the windowed reductions (core/primitives/window.ts).
 *
 * Max / min and the select_* primitives choose one position per window; their derivative
 * in the operand is zero except at ties, where finite differences are meaningless. The
 * operands here are shuffled, evenly spaced values (gaps >= 0.01, far above the finite
 * difference step), so no window has a tie and every check applies.
 */
import { fromTyped, type NDArray } from "../../core/array.ts";
import type { Params } from "../../core/primitive.ts";
import { sizeOf } from "../../core/shape.ts";
import type { WindowParams } from "../../core/primitives/window.ts";
// Registers the primitives even before lax re-exports them.
import "../../core/lax-conv.ts";
import type { PrimCase, Rng } from "./types.ts";

/**
 * A random shape (rank 1 to 3) with a valid window, strides and (asymmetric, maybe negative)
 * padding. `overlapOnly` keeps padding below the window size, so every window holds at least
 * one operand element: a max over padding alone is -inf, and finite differences of inf are NaN.
 * `sizes` fixes the rank or widens padding (up to `maxPad`) and axis lengths (up to `maxDim`).
 */
export function randomWindowConfig(rng: Rng, maxRank = 3, overlapOnly = false, sizes: { rank?: number; maxPad?: number; maxDim?: number } = {}): { shape: number[]; params: WindowParams } {
  const rank = sizes.rank ?? rng.int(1, maxRank + 1);
  const window: number[] = [];
  const strides: number[] = [];
  const padding: [number, number][] = [];
  const shape = Array.from({ length: rank }, () => {
    const w = rng.int(1, 4);
    const maxPad = overlapOnly ? w - 1 : (sizes.maxPad ?? 2);
    const lo = rng.int(-1, maxPad + 1);
    const hi = rng.int(-1, maxPad + 1);
    let n = rng.int(1, (sizes.maxDim ?? 5) + 1);
    while (n + lo + hi < w) n++;
    window.push(w);
    strides.push(rng.int(1, 4));
    padding.push([lo, hi]);
    return n;
  });
  return { shape, params: { window, strides, padding } };
}

/**
 * Float64 values -1 + 2k/n for k = 0..n-1 in a random order: no two equal, gaps of 2/n.
 * The order comes from `rng.array` (the value stream), so vmap's input sets differ.
 */
export function distinctArray(rng: Rng, shape: number[]): NDArray {
  const n = sizeOf(shape);
  const keys = rng.array(shape).dataSync();
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b]);
  const data = new Float64Array(n);
  order.forEach((i, rank) => (data[i] = -1 + (2 * rank) / n));
  return fromTyped(data, shape, "float64");
}

/** The output shape of a windowed reduction (same formula as the primitive). */
export function windowedShape(shape: number[], p: WindowParams): number[] {
  return shape.map((n, d) => Math.floor((n + p.padding[d][0] + p.padding[d][1] - p.window[d]) / p.strides[d]) + 1);
}

const select = (rng: Rng): Params => ({ select: rng.pick(["max", "min"]) });

export const cases: PrimCase[] = [
  {
    prim: "reduce_window_sum",
    make(rng) {
      const { shape, params } = randomWindowConfig(rng);
      return { args: [rng.array(shape)], params };
    },
    linearArgs: [0],
  },
  {
    prim: "reduce_window_max",
    make(rng) {
      const { shape, params } = randomWindowConfig(rng, 3, true);
      return { args: [distinctArray(rng, shape)], params };
    },
  },
  {
    prim: "reduce_window_min",
    make(rng) {
      const { shape, params } = randomWindowConfig(rng, 3, true);
      return { args: [distinctArray(rng, shape)], params };
    },
  },
  {
    // select_and_gather_add(tangent, operand): linear in the tangent; the operand only picks positions.
    prim: "select_and_gather_add",
    make(rng) {
      const { shape, params } = randomWindowConfig(rng);
      return { args: [rng.array(shape), distinctArray(rng, shape)], params: { ...params, ...select(rng) } };
    },
    linearArgs: [0],
  },
  {
    // select_and_scatter_add(source, operand): linear in the source (windowed shape).
    prim: "select_and_scatter_add",
    make(rng) {
      const { shape, params } = randomWindowConfig(rng);
      return { args: [rng.array(windowedShape(shape, params)), distinctArray(rng, shape)], params: { ...params, ...select(rng) } };
    },
    linearArgs: [0],
  },
];

/** Property cases for core/primitives/sort.ts: sort and argsort along a random axis. */
import type { DType } from "../../core/dtype.ts";
import type { PrimCase, Rng } from "./types.ts";

/**
 * A random array of rank >= 1 and an axis of it. Float values are continuous draws, so ties
 * (where sort's derivative jumps) have probability zero; integer draws tie often, which
 * exercises stability.
 */
function sortInput(rng: Rng, dtype: DType) {
  const shape = rng.shape(3, 5, 1);
  const axis = rng.int(0, shape.length);
  return { args: [rng.array(shape, dtype, -4, 4)], params: { axis } };
}

export const cases: PrimCase[] = [
  { prim: "sort", make: (rng) => sortInput(rng, "float64"), skip: { transpose: "sort is not linear" } },
  { prim: "sort", make: (rng) => sortInput(rng, "int32"), skip: { transpose: "sort is not linear" } },
  {
    prim: "argsort",
    make: (rng) => sortInput(rng, "float64"),
    skip: { grad: "integer output: argsort is piecewise constant", transpose: "argsort is not linear" },
  },
  {
    prim: "argsort",
    make: (rng) => sortInput(rng, "int32"),
    skip: { grad: "integer output: argsort is piecewise constant", transpose: "argsort is not linear" },
  },
];

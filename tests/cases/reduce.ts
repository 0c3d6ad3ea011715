/** Property cases for core/primitives/reduce.ts: every subset of axes, and argmax/argmin along each axis. */
import { fromTyped } from "../../core/array.ts";
import type { DType } from "../../core/dtype.ts";
import type { PrimCase, Rng } from "./types.ts";
import { subset } from "./shape.ts";

const reduction = (prim: string, dtypes: DType[]): PrimCase => ({
  prim,
  make: (rng) => {
    const s = rng.shape(3, 4);
    const dtype = rng.pick(dtypes);
    return { args: [rng.array(s, dtype, -3, 4)], params: { axes: subset(rng, s.length) } };
  },
});

/** Products of values in +-[0.5, 1.5], with exact zeros in some draws (the JVP special-cases them). */
function prodInput(rng: Rng, s: number[]) {
  const zeros = rng.int(0, 3);
  const mag = rng.array(s, "float64", 0.5, 1.5).dataSync();
  const sgn = rng.array(s, "bool").dataSync();
  const pos = rng.array(s, "int32", 0, 4).dataSync();
  const v = mag.map((m, i) => (zeros > 0 && pos[i] < zeros ? 0 : sgn[i] ? m : -m));
  return fromTyped(v, s, "float64");
}

const arg = (prim: string): PrimCase => ({
  prim,
  skip: { grad: "the output is an integer index" },
  make: (rng) => {
    const s = rng.shape(3, 4, 1);
    // int32 in a small range has ties (the first index wins); floats have none.
    const dtype = rng.pick<DType>(["float64", "int32"]);
    return { args: [rng.array(s, dtype, -2, 3)], params: { axis: rng.int(0, s.length) } };
  },
});

export const cases: PrimCase[] = [
  reduction("reduce_sum", ["float64", "float64", "int32"]),
  // Floats are continuous, so the maximum is unique and the derivative is defined.
  reduction("reduce_max", ["float64"]),
  reduction("reduce_min", ["float64"]),
  {
    prim: "reduce_prod",
    make: (rng) => {
      const s = rng.shape(3, 4);
      return { args: [prodInput(rng, s)], params: { axes: subset(rng, s.length) } };
    },
  },
  {
    prim: "reduce_max",
    skip: { jvp: "integer input", grad: "integer input" },
    make: (rng) => {
      const s = rng.shape(3, 4);
      return { args: [rng.array(s, "int32", -3, 4)], params: { axes: subset(rng, s.length) } };
    },
  },
  arg("argmax"),
  arg("argmin"),
];

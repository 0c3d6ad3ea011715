/** Property cases for core/primitives/gather.ts: indices include repeats and out-of-range values (clamped). */
import type { PrimCase } from "./types.ts";

export const cases: PrimCase[] = [
  {
    prim: "take",
    make: (rng) => {
      const s = rng.shape(3, 4, 1);
      const axis = rng.int(0, s.length);
      const n = s[axis];
      const idx = rng.array(rng.shape(2, 4), "int32", -1, n + 2);
      return { args: [rng.array(s, "float64", -3, 3), idx], params: { axis } };
    },
  },
  {
    prim: "scatter_add",
    make: (rng) => {
      const s = rng.shape(3, 4, 1);
      const axis = rng.int(0, s.length);
      const n = s[axis];
      const iShape = rng.shape(2, 4);
      const updShape = [...s.slice(0, axis), ...iShape, ...s.slice(axis + 1)];
      const idx = rng.array(iShape, "int32", -1, n + 2);
      return { args: [rng.array(s, "float64", -3, 3), idx, rng.array(updShape, "float64", -3, 3)], params: { axis } };
    },
  },
];

/** Property cases for core/primitives/random.ts (threefry2x32). */
import type { PrimCase } from "./types.ts";

const U32 = 2 ** 32;

export const cases: PrimCase[] = [
  {
    prim: "threefry2x32",
    make(rng) {
      const shape = rng.shape(3, 4, 0);
      // Full-range words, so the kernel's mod-2^32 arithmetic is exercised near the wrap.
      return { args: [0, 1, 2, 3].map(() => rng.array(shape, "uint32", 0, U32)), params: {} };
    },
    skip: {
      jvp: "integer outputs: random bits carry no derivative",
      grad: "integer outputs: random bits carry no derivative",
      transpose: "integer outputs: threefry2x32 is not linear",
    },
  },
];

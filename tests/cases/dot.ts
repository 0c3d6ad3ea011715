/** Property cases for core/primitives/dot.ts: random batch, contracting and free axes in random positions. */
import type { DType } from "../../core/dtype.ts";
import type { PrimCase, Rng } from "./types.ts";
import { permutation } from "./shape.ts";

/**
 * Places batch, contracting and free axes of one operand at random positions;
 * returns its shape and where each batch / contracting axis went.
 */
function layout(rng: Rng, batch: number[], contract: number[], free: number[]): { shape: number[]; b: number[]; c: number[] } {
  const sizes = [...batch, ...contract, ...free];
  const perm = permutation(rng, sizes.length);
  const shape = new Array<number>(sizes.length);
  perm.forEach((pos, k) => (shape[pos] = sizes[k]));
  return { shape, b: batch.map((_, k) => perm[k]), c: contract.map((_, k) => perm[batch.length + k]) };
}

const dims = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.int(1, 4));

function makeDot(rng: Rng, dtype: DType) {
  const batch = dims(rng, rng.int(0, 3));
  const contract = dims(rng, rng.int(0, 3));
  const lf = dims(rng, rng.int(0, 4 - batch.length > 0 ? Math.min(2, 4 - batch.length - contract.length) + 1 : 1));
  const rf = dims(rng, rng.int(0, Math.max(0, Math.min(2, 4 - batch.length - contract.length)) + 1));
  const l = layout(rng, batch, contract, lf);
  const r = layout(rng, batch, contract, rf);
  return {
    args: [rng.array(l.shape, dtype, -3, 3), rng.array(r.shape, dtype, -3, 3)],
    params: { dims: { contracting: [l.c, r.c], batch: [l.b, r.b] } },
  };
}

export const cases: PrimCase[] = [
  { prim: "dot_general", make: (rng) => makeDot(rng, "float64") },
  {
    prim: "dot_general",
    skip: { jvp: "integer operands", grad: "integer operands", transpose: "integer operands" },
    make: (rng) => makeDot(rng, "int32"),
  },
];

/**
 * Property-suite cases for the linalg primitives. Matrices are float64 and well
 * conditioned (n I plus noise) where the primitive divides by them, and of moderate
 * norm for expm so that both the unscaled Padé path and scaling-and-squaring are hit.
 */
import { fromTyped, type NDArray } from "../../core/array.ts";
import "../../core/primitives/linalg.ts";
import type { PrimCase } from "./types.ts";
import { Rng } from "./types.ts";

/** A batch shape of rank 0-2 and a matrix size 1-4. */
function batchAndSize(rng: Rng): [number[], number] {
  return [rng.shape(2, 3), rng.int(1, 5)];
}

/** n I + noise, with a random sign per matrix so det_sign sees both signs. Its condition
 * number stays small, so solves and finite differences are accurate. Values (not shapes)
 * come from `rng.array`, so the property suite can draw several same-shaped input sets. */
function wellConditioned(rng: Rng, batch: number[], n: number): NDArray {
  const a = rng.array([...batch, n, n], "float64", -0.5, 0.5).dataSync();
  const signs = rng.array([...batch], "float64").dataSync();
  for (let m = 0; m < signs.length; m++) for (let i = 0; i < n; i++) a[m * n * n + i * n + i] += n * (signs[m] < 0 ? -1 : 1);
  return fromTyped(a, [...batch, n, n], "float64");
}

/** A matrix whose norm ranges from tiny (degree 3 Padé) to several (scaling and squaring). */
function expmInput(rng: Rng, batch: number[], n: number): NDArray {
  const scale = rng.pick([0.01, 0.2, 1, 2]);
  return rng.array([...batch, n, n], "float64", -scale, scale);
}

export const cases: PrimCase[] = [
  {
    prim: "expm",
    make(rng) {
      const [batch, n] = batchAndSize(rng);
      return { args: [expmInput(rng, batch, n)], params: {} };
    },
  },
  {
    prim: "expm_frechet",
    make(rng) {
      const [batch, n] = batchAndSize(rng);
      return { args: [expmInput(rng, batch, n), rng.array([...batch, n, n])], params: {} };
    },
    linearArgs: [1],
  },
  {
    prim: "solve",
    make(rng) {
      const [batch, n] = batchAndSize(rng);
      return { args: [wellConditioned(rng, batch, n), rng.array([...batch, n, rng.int(1, 4)])], params: {} };
    },
    linearArgs: [1],
  },
  {
    prim: "det",
    make(rng) {
      const [batch, n] = batchAndSize(rng);
      return { args: [wellConditioned(rng, batch, n)], params: {} };
    },
  },
  {
    prim: "log_abs_det",
    make(rng) {
      const [batch, n] = batchAndSize(rng);
      return { args: [wellConditioned(rng, batch, n)], params: {} };
    },
  },
  {
    // Piecewise constant: its derivative is zero, which finite differences also see away
    // from singular matrices.
    prim: "det_sign",
    make(rng) {
      const [batch, n] = batchAndSize(rng);
      return { args: [wellConditioned(rng, batch, n)], params: {} };
    },
  },
];

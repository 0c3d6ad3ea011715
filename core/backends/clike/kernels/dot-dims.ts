/** dot_general as a batched product [B, M, K] x [B, K, N], the way both GPU backends see it. */
import type { RoutineParams } from "../../../routines.ts";
import { sizeOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";

export interface ProductDims {
  /** Batch, free and contracting axes of each operand. */
  lb: number[];
  lf: number[];
  lc: number[];
  rb: number[];
  rf: number[];
  rc: number[];
  B: number;
  M: number;
  K: number;
  N: number;
}

const remaining = (rank: number, ...used: number[][]) => [...Array(rank).keys()].filter((i) => !used.some((x) => x.includes(i)));

export function productDims(la: ShapedArray, ra: ShapedArray, { dims }: RoutineParams["dot_general"]): ProductDims {
  const [lc, rc] = dims.contracting;
  const [lb, rb] = dims.batch;
  const lf = remaining(la.shape.length, lc, lb);
  const rf = remaining(ra.shape.length, rc, rb);
  const size = (shape: readonly number[], axes: number[]) => sizeOf(axes.map((a) => shape[a]));
  return { lb, lf, lc, rb, rf, rc, B: size(la.shape, lb), M: size(la.shape, lf), K: size(la.shape, lc), N: size(ra.shape, rf) };
}

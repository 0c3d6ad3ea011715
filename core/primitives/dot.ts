/**
 * dot_general: contraction over paired axes with shared batch axes. Output axes are
 * [batch..., lhs free..., rhs free...], as in XLA and JAX.
 */
import { definePrimitive, isZeroTangent, UndefinedPrimal, type Primitive } from "../primitive.ts";
import type { RoutineParams } from "../routines.ts";
import { fmtShape } from "../shape.ts";
import { bind1 } from "../trace.ts";
import type { Tracer } from "../tracer.ts";
import { add } from "./elementwise.ts";
import { moveaxis, transpose } from "./shape.ts";

export type { DotDims } from "../routines.ts";
import type { DotDims } from "../routines.ts";

const remaining = (rank: number, ...used: number[][]) => [...Array(rank).keys()].filter((i) => !used.some((u) => u.includes(i)));
const argsort = (xs: number[]) =>
  xs
    .map((v, i) => [v, i])
    .sort((a, b) => a[0] - b[0])
    .map(([, i]) => i);
const range = (start: number, n: number) => [...Array(n).keys()].map((i) => i + start);

export const dotGeneralP: Primitive<RoutineParams["dot_general"]> = definePrimitive<RoutineParams["dot_general"]>({
  name: "dot_general",
  abstractEval([l, r], params) {
    const { dims } = params;
    const [lc, rc] = dims.contracting;
    const [lb, rb] = dims.batch;
    const where = `dot_general of ${fmtShape(l.shape)} and ${fmtShape(r.shape)}`;
    if (l.dtype !== r.dtype) throw new Error(`${where}: dtypes ${l.dtype} and ${r.dtype} differ`);
    if (l.dtype === "bool") throw new Error(`${where}: bool operands are not supported`);
    if (lc.length !== rc.length || lb.length !== rb.length) throw new Error(`${where}: contracting/batch axis lists differ in length`);
    const valid = (axes: number[], rank: number) => axes.every((a) => Number.isInteger(a) && a >= 0 && a < rank) && new Set(axes).size === axes.length;
    if (!valid([...lc, ...lb], l.shape.length) || !valid([...rc, ...rb], r.shape.length)) throw new Error(`${where}: axes ${JSON.stringify(dims)} are invalid`);
    lc.forEach((a, i) => {
      if (l.shape[a] !== r.shape[rc[i]]) throw new Error(`${where}: contracting sizes ${l.shape[a]} (lhs axis ${a}) and ${r.shape[rc[i]]} (rhs axis ${rc[i]}) differ`);
    });
    lb.forEach((a, i) => {
      if (l.shape[a] !== r.shape[rb[i]]) throw new Error(`${where}: batch sizes ${l.shape[a]} and ${r.shape[rb[i]]} differ`);
    });
    const shape = [...lb.map((a) => l.shape[a]), ...remaining(l.shape.length, lc, lb).map((a) => l.shape[a]), ...remaining(r.shape.length, rc, rb).map((a) => r.shape[a])];
    return [{ shape, dtype: l.dtype }];
  },
  jvp([l, r], [tl, tr], params) {
    const y = bind1(dotGeneralP, [l, r], params);
    // Skip the product with a tangent the JVP trace knows is zero.
    if (isZeroTangent(tl)) return [[y], [bind1(dotGeneralP, [l, tr], params)]];
    if (isZeroTangent(tr)) return [[y], [bind1(dotGeneralP, [tl, r], params)]];
    return [[y], [add(bind1(dotGeneralP, [tl, r], params), bind1(dotGeneralP, [l, tr], params))]];
  },
  transpose([ct], [l, r], { dims }) {
    if (l instanceof UndefinedPrimal && r instanceof UndefinedPrimal) throw new Error("dot_general: transpose needs one constant operand");
    if (!ct) return [null, null];
    if (l instanceof UndefinedPrimal) return [transposeLhs(ct, l.aval.shape.length, r as Tracer, dims, false), null];
    const swapped: DotDims = { contracting: [dims.contracting[1], dims.contracting[0]], batch: [dims.batch[1], dims.batch[0]] };
    return [null, transposeLhs(ct, (r as UndefinedPrimal).aval.shape.length, l as Tracer, swapped, true)];
  },
  batch([l, r], [dl, dr], { dims }) {
    const shift = (axes: number[]) => axes.map((a) => a + 1);
    const [lc, rc] = dims.contracting;
    const [lb, rb] = dims.batch;
    if (dl !== null && dr !== null) {
      const nd: DotDims = {
        contracting: [shift(lc), shift(rc)],
        batch: [
          [0, ...shift(lb)],
          [0, ...shift(rb)],
        ],
      };
      return [[dotGeneral(moveaxis(l, dl, 0), moveaxis(r, dr, 0), nd)], [0]];
    }
    if (dl !== null) {
      const nd: DotDims = { contracting: [shift(lc), rc], batch: [shift(lb), rb] };
      return [[dotGeneral(moveaxis(l, dl, 0), r, nd)], [lb.length]];
    }
    const nd: DotDims = { contracting: [lc, shift(rc)], batch: [lb, shift(rb)] };
    const lFree = l.ndim - lc.length - lb.length;
    return [[dotGeneral(l, moveaxis(r, dr!, 0), nd)], [lb.length + lFree]];
  },
  printParams: (p) => `contracting=${JSON.stringify(p.dims.contracting)} batch=${JSON.stringify(p.dims.batch)}`,
});

function transposeLhs(ct: Tracer, xRank: number, y: Tracer, dims: DotDims, swapAns: boolean): Tracer {
  const [xc, yc] = dims.contracting;
  const [xb, yb] = dims.batch;
  const xKept = remaining(xRank, xc, xb);
  const yKept = remaining(y.ndim, yc, yb);
  const ansBatch = range(0, xb.length);
  const ansY = swapAns ? range(xb.length, yKept.length) : range(xb.length + xKept.length, yKept.length);
  const xContractSortedByY = argsort(yc).map((i) => xc[i]);
  const outAxes = argsort([...xb, ...xKept, ...xContractSortedByY]);
  return transpose(dotGeneral(ct, y, { contracting: [ansY, yKept], batch: [ansBatch, yb] }), outAxes);
}

export function dotGeneral(l: Tracer, r: Tracer, dims: DotDims): Tracer {
  return bind1(dotGeneralP, [l, r], { dims: { contracting: [[...dims.contracting[0]], [...dims.contracting[1]]], batch: [[...dims.batch[0]], [...dims.batch[1]]] } });
}

/** Strided copies shared by the shape primitives' CPU kernels. */
import type { TypedArray } from "../../dtype.ts";

/**
 * out[i0..ik] = src[offset + sum_j i_j * inStrides[j]] over the output shape.
 * Covers transpose (permuted strides), broadcast (zero strides), slice and reverse.
 */
export function stridedCopy(src: TypedArray, out: TypedArray, outShape: readonly number[], inStrides: readonly number[], offset: number): void {
  const rank = outShape.length;
  const n = out.length;
  if (n === 0) return;
  if (rank === 0) {
    out[0] = src[offset];
    return;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastDim = outShape[last];
  const lastStride = inStrides[last];
  let base = offset;
  for (let o = 0; o < n; o += lastDim) {
    let p = base;
    for (let i = 0; i < lastDim; i++, p += lastStride) out[o + i] = src[p];
    // Advance the multi-index over all but the last axis.
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      base += inStrides[d];
      if (idx[d] < outShape[d]) break;
      base -= inStrides[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

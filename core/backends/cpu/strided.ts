/** Strided copies shared by the shape primitives' CPU kernels. */
import type { TypedArray } from "../../dtype.ts";

/**
 * out[i0..ik] = src[offset + sum_j i_j * inStrides[j]] over the output shape.
 * Covers transpose (permuted strides), broadcast (zero strides), slice and reverse.
 */
export function stridedCopy(src: TypedArray, out: TypedArray, outShape: readonly number[], inStrides: readonly number[], offset: number): void {
  const n = out.length;
  if (n === 0) return;
  // Merge adjacent axes that walk memory as one (stride[d] == stride[d+1] * shape[d+1]), and drop size-1 axes.
  const shape: number[] = [];
  const strides: number[] = [];
  for (let d = 0; d < outShape.length; d++) {
    if (outShape[d] === 1) continue;
    const k = shape.length - 1;
    if (k >= 0 && strides[k] === inStrides[d] * outShape[d]) {
      shape[k] *= outShape[d];
      strides[k] = inStrides[d];
    } else {
      shape.push(outShape[d]);
      strides.push(inStrides[d]);
    }
  }
  const rank = shape.length;
  if (rank === 0) {
    out[0] = src[offset];
    return;
  }
  const last = rank - 1;
  const lastDim = shape[last];
  const lastStride = strides[last];
  const idx = new Array<number>(rank).fill(0);
  let base = offset;
  for (let o = 0; o < n; o += lastDim) {
    if (lastStride === 1) out.set(src.subarray(base, base + lastDim), o);
    else if (lastStride === 0) out.fill(src[base], o, o + lastDim);
    else for (let i = 0, p = base; i < lastDim; i++, p += lastStride) out[o + i] = src[p];
    // Advance the multi-index over all but the last axis.
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      base += strides[d];
      if (idx[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

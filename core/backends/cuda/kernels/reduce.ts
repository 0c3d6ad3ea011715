/**
 * argmax / argmin along one axis (the other reductions go through the IR renderer).
 * The CPU's rule: the first NaN wins, else the first extreme value (ties keep the lowest
 * index). As a total order on candidates (NaN first, then value, then lower index) it is
 * associative, so a block can split a long axis and combine partial winners.
 */
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineCuda, type CudaProgram } from "../program.ts";
import { blocks, ctype, kernel, param, perElement, THREADS } from "../cuda-c.ts";

/** Threads per output in the cooperative kernel. */
const RT = 256;

/** `aug_beats(v, k, b, j)`: candidate v at index k beats b at index j. */
function beatsFn(dtype: ShapedArray["dtype"], max: boolean): string {
  const t = ctype(dtype);
  const cmp = max ? ">" : "<";
  const nan = dtype === "float32" || dtype === "float64"
    ? "const bool vn = v != v; const bool bn = b != b; if (vn != bn) return vn; if (vn) return k < j;\n  "
    : "";
  return `static __device__ __forceinline__ bool aug_beats(${t} v, unsigned k, ${t} b, unsigned j) {
  ${nan}if (v ${cmp} b) return true; if (b ${cmp} v) return false; return k < j;
}`;
}

function argRule(max: boolean) {
  return ([x]: ShapedArray[], [out]: ShapedArray[], { axis }: Record<string, number>): CudaProgram => {
    const n = x.shape[axis];
    const inner = stridesOf(x.shape)[axis];
    const m = sizeOf(out.shape);
    const T = ctype(x.dtype);
    const isFloat = x.dtype === "float32" || x.dtype === "float64";
    const params = [param("x", x.dtype), param("out", out.dtype, true)];
    const base = `(o / ${inner}u) * ${n * inner}u + o % ${inner}u`;
    if (n < 1024 || m >= 4096) {
      // One thread per output walks the axis, as the CPU does (stopping at a NaN).
      const stop = isFloat ? "if (best != best) break; " : "";
      const body = `  const unsigned o = gi;
  const unsigned base = ${base};
  ${T} best = x[base];
  unsigned bi = 0u;
  for (unsigned k = 1u; k < ${n}u; ++k) {
    ${stop}const ${T} v = x[base + k * ${inner}u];
    if (aug_beats(v, k, best, bi)) { best = v; bi = k; }
  }
  out[o] = (int)bi;`;
      const code = perElement(params, m, body).replace(/^/, `${beatsFn(x.dtype, max)}\n`);
      return { passes: [{ code, bindings: [{ in: 0 }, { out: 0 }], blocks: blocks(m), threads: THREADS }] };
    }
    // Long axis, few outputs: a block per output, each thread a strided share, then a tree.
    const body = `  __shared__ ${T} pv[${RT}];
  __shared__ unsigned pk[${RT}];
  const unsigned o = blockIdx.x;
  const unsigned lid = threadIdx.x;
  const unsigned base = ${base};
  ${T} best = x[base + lid * ${inner}u];
  unsigned bi = lid;
  for (unsigned k = lid + ${RT}u; k < ${n}u; k += ${RT}u) {
    const ${T} v = x[base + k * ${inner}u];
    if (aug_beats(v, k, best, bi)) { best = v; bi = k; }
  }
  pv[lid] = best;
  pk[lid] = bi;
  __syncthreads();
  for (unsigned s = ${RT / 2}u; s > 0u; s >>= 1) {
    if (lid < s && aug_beats(pv[lid + s], pk[lid + s], pv[lid], pk[lid])) { pv[lid] = pv[lid + s]; pk[lid] = pk[lid + s]; }
    __syncthreads();
  }
  if (lid == 0u) out[o] = (int)pk[0];`;
    return { passes: [{ code: kernel(params, body, [], RT, beatsFn(x.dtype, max)), bindings: [{ in: 0 }, { out: 0 }], blocks: Math.max(1, m), threads: RT }] };
  };
}

defineCuda("argmax", argRule(true));
defineCuda("argmin", argRule(false));

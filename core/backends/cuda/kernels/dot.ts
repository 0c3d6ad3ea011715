/**
 * dot_general as a batched matrix product [B, M, K] x [B, K, N] -> [B, M, N] with a tiled
 * shared-memory kernel: a block of 16x16 threads computes a 64x64 tile of the output,
 * staging 64x16 slices of both operands in shared memory; each thread owns a 4x4 block
 * strided by 16 (conflict-free shared reads, coalesced stores).
 *
 * An operand is read in place when each of its axis groups (batch, free, contracting)
 * flattens to one stride — any transpose of whole groups, e.g. the x^T of a gradient; the
 * tile loader then walks whichever of its axes is contiguous, so global reads coalesce.
 * Other layouts are first gathered into a scratch buffer. Integer products wrap modulo
 * 2^32 like the CPU's Math.imul path; float32 accumulates in float32 with fused
 * multiply-adds.
 */
import type { RoutineParams } from "../../../routines.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { productDims } from "../../clike/kernels/dot-dims.ts";
import type { DType } from "../../../dtype.ts";
import { type CudaProgram, type Pass, type Ref } from "../program.ts";
import { blocks, ctype, kernel, literal, param, perElement, THREADS } from "../cuda-c.ts";

const u = (n: number) => `${n >>> 0}u`;

/** Output tile edge and K step of the product kernel. */
export const TILE = 64;
export const BK = 16;

/**
 * The single stride that walks `axes` (in the order listed, row-major) of a tensor, or null
 * when the group does not flatten to one stride. Size-1 axes never matter.
 */
function groupStride(axes: number[], shape: readonly number[], st: number[]): number | null {
  const live = axes.filter((a) => shape[a] !== 1);
  if (live.length === 0) return 0;
  for (let i = 0; i + 1 < live.length; i++) if (st[live[i]] !== st[live[i + 1]] * shape[live[i + 1]]) return null;
  return st[live[live.length - 1]];
}

/** C statements adding to `off` the source offset of index `idx` of a row-major walk over `axes`. */
function groupOffset(off: string, idx: string, axes: number[], shape: readonly number[], st: number[]): string {
  const rem = `${idx}_r`;
  const lines = [`unsigned ${rem} = ${idx};`];
  for (let k = axes.length - 1; k >= 0; k--) {
    const a = axes[k];
    lines.push(`${off} += (${rem} % ${u(shape[a])}) * ${u(st[a])};`, `${rem} /= ${u(shape[a])};`);
  }
  return lines.join("\n  ");
}

/** A pass gathering `src` into a row-major [G0, G1, G2] scratch buffer whose rows are the axis groups. */
function packPass(dtype: DType, shape: readonly number[], groups: number[][], src: Ref, dst: Ref): Pass {
  const st = stridesOf(shape);
  const [n1, n2] = [groups[1], groups[2]].map((g) => sizeOf(g.map((a) => shape[a])));
  const total = sizeOf(shape);
  const body = `  const unsigned j2 = gi % ${u(n2)};
  const unsigned j1 = (gi / ${u(n2)}) % ${u(n1)};
  const unsigned j0 = gi / ${u(n1 * n2)};
  unsigned o = 0u;
  ${groupOffset("o", "j0", groups[0], shape, st)}
  ${groupOffset("o", "j1", groups[1], shape, st)}
  ${groupOffset("o", "j2", groups[2], shape, st)}
  dst[gi] = src[o];`;
  return { code: perElement([param("src", dtype), param("dst", dtype, true)], total, body), bindings: [src, dst], blocks: blocks(total), threads: THREADS };
}

/** Strides of an operand as the product kernel reads it: batch, rows and columns of its matrix. */
interface Layout {
  batch: number;
  row: number;
  col: number;
}

/**
 * The tiled product. A is [B, M, K] with strides `a`, B is [B, K, N] with strides `b`;
 * out is row-major [B, M, N].
 */
export function productPass(dtype: DType, B: number, M: number, N: number, K: number, a: Layout, b: Layout): Pass {
  const T = ctype(dtype);
  const Acc = dtype === "int32" ? "unsigned" : T;
  const MT = Math.ceil(M / TILE),
    NT = Math.ceil(N / TILE);
  const total = B * MT * NT;
  const R = [0, 1, 2, 3];
  const zero = literal(0, dtype);
  // Walk the contiguous axis fastest across threads, so each warp reads consecutive addresses.
  const aMap = a.col === 1 && a.row !== 1 ? { kk: `e % ${BK}u`, m: `e / ${BK}u` } : { kk: `e / ${TILE}u`, m: `e % ${TILE}u` };
  const bMap = b.col === 1 || b.row !== 1 ? { kk: `e / ${TILE}u`, n: `e % ${TILE}u` } : { kk: `e % ${BK}u`, n: `e / ${BK}u` };
  const mul = (x: string, y: string) => (dtype === "int32" ? `(unsigned)${x} * (unsigned)${y}` : `${x} * ${y}`);
  const body = `  __shared__ ${T} As[${BK}][${TILE + 1}];
  __shared__ ${T} Bs[${BK}][${TILE + 1}];
  const unsigned tile = blockIdx.x;
  const unsigned tn = tile % ${u(NT)};
  const unsigned tm = (tile / ${u(NT)}) % ${u(MT)};
  const unsigned bb = tile / ${u(NT * MT)};
  const unsigned lid = threadIdx.x;
  const unsigned tx = lid % 16u;
  const unsigned ty = lid / 16u;
  const ${T}* __restrict__ ab = a + bb * ${u(a.batch)};
  const ${T}* __restrict__ bbase = b + bb * ${u(b.batch)};
${R.flatMap((r) => R.map((c) => `  ${Acc} c${r}${c} = ${Acc === "unsigned" ? "0u" : zero};`)).join("\n")}
  for (unsigned k0 = 0u; k0 < ${u(K)}; k0 += ${BK}u) {
    #pragma unroll
    for (unsigned l = 0u; l < ${(TILE * BK) / THREADS}u; ++l) {
      const unsigned e = lid + l * ${THREADS}u;
      {
        const unsigned kk = ${aMap.kk};
        const unsigned m = ${aMap.m};
        const unsigned row = tm * ${TILE}u + m;
        As[kk][m] = (row < ${u(M)} && k0 + kk < ${u(K)}) ? ab[row * ${u(a.row)} + (k0 + kk) * ${u(a.col)}] : ${zero};
      }
      {
        const unsigned kk = ${bMap.kk};
        const unsigned n = ${bMap.n};
        const unsigned col = tn * ${TILE}u + n;
        Bs[kk][n] = (col < ${u(N)} && k0 + kk < ${u(K)}) ? bbase[(k0 + kk) * ${u(b.row)} + col * ${u(b.col)}] : ${zero};
      }
    }
    __syncthreads();
    #pragma unroll
    for (unsigned kk = 0u; kk < ${BK}u; ++kk) {
${R.map((r) => `      const ${T} a${r} = As[kk][ty + ${16 * r}u];`).join("\n")}
${R.map((c) => `      const ${T} b${c} = Bs[kk][tx + ${16 * c}u];`).join("\n")}
${R.flatMap((r) => R.map((c) => `      c${r}${c} += ${mul(`a${r}`, `b${c}`)};`)).join("\n")}
    }
    __syncthreads();
  }
  const unsigned row0 = tm * ${TILE}u + ty;
  const unsigned col0 = tn * ${TILE}u + tx;
${R.flatMap((r) => R.map((c) => `  if (row0 + ${16 * r}u < ${u(M)} && col0 + ${16 * c}u < ${u(N)}) out[(bb * ${u(M)} + row0 + ${16 * r}u) * ${u(N)} + col0 + ${16 * c}u] = (${T})c${r}${c};`)).join("\n")}`;
  const code = kernel([param("a", dtype), param("b", dtype), param("out", dtype, true)], body);
  return { code, bindings: [], blocks: total, threads: THREADS };
}

/** The program for one dot_general. */
export function dotProgram([la, ra]: ShapedArray[], [oa]: ShapedArray[], params: RoutineParams["dot_general"]): CudaProgram {
  const { lb, lf, lc, rb, rf, rc, B, M, K, N } = productDims(la, ra, params);
  const n = B * M * N;
  if (n === 0) return { passes: [] };
  if (K === 0) {
    return { passes: [{ code: perElement([param("out", oa.dtype, true)], n, `  out[gi] = ${literal(0, oa.dtype)};`), bindings: [{ out: 0 }], blocks: blocks(n), threads: THREADS }] };
  }
  const passes: Pass[] = [];
  const temps: { dtype: DType; size: number }[] = [];
  // Each operand as (ref, layout): read in place when its groups flatten, else packed.
  const operand = (x: ShapedArray, groups: number[][], rows: number, cols: number, input: number): [Ref, Layout] => {
    const st = stridesOf(x.shape);
    const [sb, sr, sc] = groups.map((g) => groupStride(g, x.shape, st));
    if (sb !== null && sr !== null && sc !== null) return [{ in: input }, { batch: sb, row: sr, col: sc }];
    const ref: Ref = { tmp: temps.length };
    temps.push({ dtype: x.dtype, size: sizeOf(x.shape) });
    passes.push(packPass(x.dtype, x.shape, groups, { in: input }, ref));
    return [ref, { batch: rows * cols, row: cols, col: 1 }];
  };
  const [aRef, aLayout] = operand(la, [lb, lf, lc], M, K, 0);
  const [bRef, bLayout] = operand(ra, [rb, rc, rf], K, N, 1);
  passes.push({ ...productPass(oa.dtype, B, M, N, K, aLayout, bLayout), bindings: [aRef, bRef, { out: 0 }] });
  return { passes, temps };
}

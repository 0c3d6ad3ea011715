/**
 * The control block at address 0 of the shared memory: i32 words through which the main
 * thread hands a job to the workers and the generated `run` reads it. A job is a count of
 * blocks of one kind; every thread claims blocks from the atomic `next` counter until
 * none is left. Pointers and strides in job words are in bytes.
 *
 *   emitClaimLoop(f, blk, () => f.get(blk).call(block));   // in a generated `run_*`
 */
import type { FunctionBuilder } from "./emit.ts";

export const CONTROL_BYTES = 4096;

export const jobKind = { sgemm: 0, im2col: 1, fused: 2 } as const;

export const word = {
  /** Next block to claim (atomic), blocks in the job, and the job's kind. */
  next: 0,
  blocks: 1,
  kind: 2,
  /** Worker threads still busy on the job; set when a worker's run threw; blocks run by workers (pool.ts). */
  running: 3,
  failed: 4,
  helped: 5,

  // sgemm (matmul.ts): packed A and B, C, per-batch strides; padded N, K and rows per product.
  a: 8,
  b: 9,
  c: 10,
  aStride: 11,
  bStride: 12,
  cStride: 13,
  n: 14,
  k: 15,
  rows: 16,
  blockRows: 17,
  blockCols: 18,
  colBlocks: 19,
  blocksPerBatch: 20,

  // im2col: bytes from one patch row to the next (NR floats in packed B, a row's length in a row-major matrix).
  dstRowBytes: 21,
  /** im2col: the table of unit-stride column runs, or 0 (im2col.ts). */
  colRuns: 22,

  // im2col (im2col.ts), one block per image: the first image, and its im2col arguments.
  src: 24,
  imageBytes: 25,
  chanBytes: 26,
  rowBytes: 27,
  cg: 28,
  kh: 29,
  kw: 30,
  ho: 31,
  wo: 32,
  rowTaps: 33,
  colTaps: 34,
  colAt: 35,
  colAtStride: 36,
  dst: 37,

  // fused (kernels.ts): the kernel's id, its outer loop's length, and its pointers (output
  // first): room for 215, so that kernels fusing a whole backward pass still run on all threads.
  fusedId: 38,
  fusedOuter: 39,
  fusedPtrs: 40,
  fusedPtr0: 41,

  /** Per worker thread, two words from here: [wake counter, ready flag] (384 workers fit). */
  workers: 256,
} as const;

/** Pushes the value of a control word. */
export function loadWord(f: FunctionBuilder, w: number): FunctionBuilder {
  return f.i32(0).mem("i32.load", w * 4);
}

/** `while ((blk = next++) < blocks) body()`, with the atomic increment that shares blocks between threads. */
export function emitClaimLoop(f: FunctionBuilder, blk: number, body: () => void): void {
  f.block().loop();
  f.i32(0)
    .i32(1)
    .mem("i32.atomic.rmw.add", word.next * 4)
    .tee(blk);
  loadWord(f, word.blocks).op("i32.ge_u").brIf(1);
  body();
  f.br(0).end().end();
}

/** One cell of the browser benchmark, as the page reports it (bench/browser/page.ts) and the runner tabulates it. */
export interface Row {
  workload: string;
  library: string;
  medianMs?: number;
  q1?: number;
  q3?: number;
  reps?: number;
  firstMs?: number;
  /** Our CPU backend: of the wasm kernel runs in the cell, how many ran on several threads, and the blocks workers ran ("3/40, 90 blocks by workers"). */
  threaded?: string;
  error?: string;
}

/**
 * Batching many generated CUDA modules into a few translation units: each module goes in
 * its own namespace with its entry point renamed, so helpers and entry points never clash
 * and one compiler run checks hundreds of kernels.
 */
import { ENTRY } from "../../../core/backends/cuda/cuda-c.ts";

/** The entry point of module `k` in a batch. */
export const entryOf = (k: number) => `${ENTRY}_${k}`;

/** One translation unit holding `codes` (module k's entry renamed to entryOf(k)). */
export function batchSource(codes: readonly string[], first = 0, prelude = ""): string {
  const re = new RegExp(`\\b${ENTRY}\\b`, "g");
  return `${prelude}${codes.map((c, i) => `namespace m${first + i} {\n${c.replace(re, entryOf(first + i))}\n}\n`).join("")}`;
}

/** Splits `xs` into `n` nearly equal consecutive chunks (with their starting offsets). */
export function chunks<T>(xs: readonly T[], n: number): { first: number; items: T[] }[] {
  const size = Math.ceil(xs.length / n);
  const out: { first: number; items: T[] }[] = [];
  for (let i = 0; i < xs.length; i += size) out.push({ first: i, items: xs.slice(i, i + size) });
  return out;
}

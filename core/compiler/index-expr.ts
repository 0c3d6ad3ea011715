/**
 * Index arithmetic for the C-like kernel languages (WGSL and CUDA C), which spell unsigned
 * 32-bit literals, sums and products alike; only declarations differ, so callers pass theirs.
 */
import { sizeOf, stridesOf } from "../shape.ts";

/** An unsigned 32-bit literal. */
export const u = (v: number): string => `${v >>> 0}u`;

/** Statements declaring `c0..c{r-1}`, the coordinates in `shape` of the linear index `v`. */
export function unravel(shape: readonly number[], declare: (name: string, expr: string) => string, v = "gi", prefix = "c"): string {
  const st = stridesOf(shape);
  return shape.map((n, d) => declare(`${prefix}${d}`, d === 0 ? `${v} / ${u(st[d])}` : `(${v} / ${u(st[d])}) % ${u(n)}`)).join("\n");
}

/** The sum `base + sum_d coeff[d] * c_d` (terms with zero coefficients dropped). */
export function affine(base: number, coeff: readonly number[], prefix = "c"): string {
  const terms = coeff.flatMap((k, d) => (k === 0 ? [] : [`${prefix}${d} * ${u(k)}`]));
  return [u(base), ...terms].join(" + ");
}

/** The input offset a slice's output coordinates read. */
export function sliceSource(shape: readonly number[], start: readonly number[], strides: readonly number[]): string {
  const st = stridesOf(shape);
  const base = start.reduce((acc, s, d) => acc + s * st[d], 0);
  return affine(base, st.map((s, d) => s * strides[d]));
}

/** The input offset a rev's output coordinates read. */
export function revSource(shape: readonly number[], axes: readonly number[]): string {
  const st = stridesOf(shape);
  // A reversed axis reads (n - 1 - c) * s = (n - 1) * s - c * s; unsigned wrap-around makes the sum right.
  let base = 0;
  const terms = shape.map((n, d) => {
    if (!axes.includes(d)) return ` + c${d} * ${u(st[d])}`;
    base += (n - 1) * st[d];
    return ` - c${d} * ${u(st[d])}`;
  });
  return `${u(base)}${terms.join("")}`;
}

/** One pass of a concatenate: inputs `ks` (bound as x0, x1, ...) fill `n` output elements. */
export interface ConcatRun {
  ks: number[];
  n: number;
  /** The body over `gi`, declaring its locals with `declare`. */
  body(declare: (name: string, expr: string) => string): string;
}

/**
 * Splits a concatenate into passes of at most `perPass` non-empty inputs. Each pass covers
 * the output columns [off, off + width) of a run of inputs, so every output element is
 * written once and any number of inputs fits a binding limit.
 */
export function concatRuns(ins: readonly { shape: readonly number[] }[], outShape: readonly number[], axis: number, perPass: number): ConcatRun[] {
  const outer = sizeOf(outShape.slice(0, axis));
  const innerOut = sizeOf(outShape.slice(axis));
  const inner = ins.map((a) => sizeOf(a.shape.slice(axis)));
  const offsets = inner.map((_, k) => inner.slice(0, k).reduce((a, b) => a + b, 0));
  const runs: ConcatRun[] = [];
  for (let first = 0; first < ins.length; first += perPass) {
    const ks = [...Array(Math.min(perPass, ins.length - first)).keys()].map((i) => first + i).filter((k) => inner[k] > 0);
    if (ks.length === 0) continue;
    const off = offsets[ks[0]];
    const width = ks.reduce((acc, k) => acc + inner[k], 0);
    const branches = ks.map((k, b) => {
      const lo = offsets[k] - off;
      const read = `out[o * ${u(innerOut)} + ${u(off)} + r] = x${b}[o * ${u(inner[k])} + r - ${u(lo)}];`;
      return b === ks.length - 1 ? `{ ${read} }` : `if (r < ${u(lo + inner[k])}) { ${read} }`;
    });
    runs.push({
      ks,
      n: outer * width,
      body: (declare) => `${declare("o", `gi / ${u(width)}`)}\n${declare("r", `gi % ${u(width)}`)}\n  ${branches.join(" else ")}`,
    });
  }
  return runs;
}

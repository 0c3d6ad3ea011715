/** Mean and sample standard deviation over seeds, and how reports print them. */
export function meanStd(xs: number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: NaN, std: NaN };
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

/** Accuracies as "mean +- std% (n seeds)". */
export function fmtMeanStd(accs: number[]): string {
  const { mean, std } = meanStd(accs);
  return `${(100 * mean).toFixed(2)} +- ${(100 * std).toFixed(2)}% (${accs.length} seed${accs.length > 1 ? "s" : ""})`;
}

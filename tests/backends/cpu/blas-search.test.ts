/**
 * The platform BLAS search on a machine where it finds nothing (AUGERINO_BLAS_PATH naming a
 * library that does not exist stands in for a machine without one): products still give the
 * BLAS results on the WebAssembly kernels, and the first product prints the hint line once.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { cpuBlas, resetBlas } from "../../../core/backends/cpu/blas/library.ts";
import { lax, np } from "../../../index.ts";

function withSearch<T>(value: string | undefined, body: () => T): T {
  const before = process.env.AUGERINO_BLAS_PATH;
  if (value === undefined) delete process.env.AUGERINO_BLAS_PATH;
  else process.env.AUGERINO_BLAS_PATH = value;
  resetBlas();
  try {
    return body();
  } finally {
    if (before === undefined) delete process.env.AUGERINO_BLAS_PATH;
    else process.env.AUGERINO_BLAS_PATH = before;
    resetBlas();
  }
}

/** Products that reach the BLAS path (float32 and float64 matmul, a convolution), as host arrays. */
function products(): number[][] {
  const a = np
    .arange(48 * 40)
    .reshape([48, 40])
    .mul(0.01)
    .sin();
  const b = np
    .arange(40 * 24)
    .reshape([40, 24])
    .mul(0.02)
    .cos();
  const x = np
    .arange(2 * 3 * 9 * 9)
    .reshape([2, 3, 9, 9])
    .mul(0.03)
    .sin();
  const w = np
    .arange(4 * 3 * 3 * 3)
    .reshape([4, 3, 3, 3])
    .mul(0.05)
    .cos();
  return [np.matmul(a, b), np.matmul(a.astype("float64"), b.astype("float64")), lax.conv(x, w, { padding: "SAME" })].map((r) => Array.from(r.dataSync()));
}

afterEach(() => vi.restoreAllMocks());

describe("a machine without a BLAS", () => {
  it("names what it tried, runs products on the WebAssembly kernels and hints once", () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    const without = withSearch("/no/such/dir/libopenblas.so.0", () => {
      expect(cpuBlas()).toBeNull();
      return [products(), products()];
    });
    const hints = lines.filter((l) => l.includes("no BLAS library found"));
    expect(hints).toHaveLength(1);
    expect(hints[0]).toContain("tried /no/such/dir/libopenblas.so.0");
    expect(hints[0]).toContain("run on the WebAssembly kernels");
    expect(hints[0]).toContain("AUGERINO_BLAS=0");
    // The second round of products printed nothing more, and gave the same values.
    expect(without[1]).toEqual(without[0]);
    // Against whatever this machine has (the BLAS where one is installed): float rounding apart, the same products.
    const reference = withSearch(undefined, products);
    for (let i = 0; i < reference.length; i++) {
      const scale = Math.max(...reference[i].map(Math.abs));
      without[0][i].forEach((v, j) => expect(Math.abs(v - reference[i][j])).toBeLessThanOrEqual(1e-5 * scale));
    }
  });

  it("rejects an AUGERINO_BLAS_PATH that names no library", () => {
    withSearch("::", () => expect(() => cpuBlas()).toThrow(/AUGERINO_BLAS_PATH is set but names no library/));
  });
});

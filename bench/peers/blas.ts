/**
 * The platform BLAS called directly (cblas_sgemm through koffi, the library our CPU backend
 * loads), for matmul only: the ceiling for our products on this machine.
 */
import { cpuBlas } from "../../core/backends/cpu/blas/library.ts";
import { meanAbs, type Library, type Peer } from "../harness.ts";

export const blasDirect: Peer = {
  name: "BLAS direct",
  async load(): Promise<Library> {
    const blas = cpuBlas();
    if (!blas) throw new Error("no BLAS library loaded (AUGERINO_BLAS=0, or none installed)");
    const na = { skip: "not applicable: matmul only" };
    return {
      name: "cblas_sgemm direct",
      note: `${blas.describe}: cblas_sgemm on Float32Arrays through koffi, threads as ours; no array library around it.`,
      impls: {
        matmul: (w, { a, b }) => {
          const { n } = w.params;
          const c = new Float32Array(n * n);
          return { run: () => blas.sgemm(false, false, n, n, n, a as Float32Array, n, b as Float32Array, n, c, n, 0), check: () => meanAbs(c) };
        },
        conv: na,
        convGrad: na,
        chain: na,
        gridSample: na,
        gridSampleGrad: na,
        adam: na,
        train: na,
        copy: na,
        maxPool: na,
        avgPool: na,
        batchNorm: na,
      },
    };
  },
};

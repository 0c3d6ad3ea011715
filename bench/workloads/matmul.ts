/** f32 matrix products n x n @ n x n: the dense-algebra baseline every library has. */
import { np } from "../../index.ts";
import { uniform, type Impl, type Workload } from "../harness.ts";

export const matmulWorkloads = (sizes: number[]): Workload[] =>
  sizes.map((n) => ({
    id: `matmul-${n}`,
    kind: "matmul",
    title: `matmul ${n}`,
    params: { n },
    work: { amount: 2 * n ** 3, unit: "GFLOP/s" },
    inputs: () => ({ a: uniform(n * n, 1), b: uniform(n * n, 2) }),
  }));

export const oursMatmul: Impl = (w, { a, b }) => {
  const { n } = w.params;
  const x = np.array(a).reshape([n, n]);
  const y = np.array(b).reshape([n, n]);
  let out = np.matmul(x, y);
  return {
    run: () => (out = np.matmul(x, y)),
    check: () => meanAbsOf(out),
  };
};

export const meanAbsOf = (t: { dataSync(): ArrayLike<number> }) => {
  const d = t.dataSync();
  let s = 0;
  for (let i = 0; i < d.length; i++) s += Math.abs(d[i]);
  return s / d.length;
};

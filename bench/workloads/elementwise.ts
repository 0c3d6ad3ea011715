/** A fused elementwise chain tanh(x * 1.5 + 0.25) * sigmoid(x) - 0.5 over 4M float32 elements. */
import { np, jit, type Tracer } from "../../index.ts";
import { uniform, type Impl, type Workload } from "../harness.ts";
import { meanAbsOf } from "./matmul.ts";

export const CHAIN_A = 1.5;
export const CHAIN_B = 0.25;
const n = 4 * 1024 * 1024;

export const chainWorkload: Workload = {
  id: "chain-4M",
  kind: "chain",
  title: "tanh(x*a+b)*sigmoid(x)-0.5, 4M",
  params: { n },
  // Bytes that must move: read x, write the result (a fused kernel's minimum).
  work: { amount: 8 * n, unit: "GB/s" },
  inputs: () => ({ x: uniform(n, 6, -3, 3) }),
};

export const oursChain: Impl = (_w, { x }) => {
  const xs = np.array(x);
  const f = jit((x: Tracer) => np.tanh(x.mul(CHAIN_A).add(CHAIN_B)).mul(np.sigmoid(x)).sub(0.5));
  let y = f(xs);
  return { run: () => (y = f(xs)), check: () => meanAbsOf(y) };
};

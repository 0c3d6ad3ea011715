/**
 * conv2d 3x3 SAME, batch 64, 32x32, 32 -> 64 channels: forward, and forward + backward
 * (dx and dw for the loss sum(conv(x, w) * g) with a fixed cotangent g).
 */
import { np, lax, jit, grad, type Tracer } from "../../index.ts";
import { uniform, type Impl, type Workload } from "../harness.ts";
import { meanAbsOf } from "./matmul.ts";

const p = { n: 64, cin: 32, h: 32, w: 32, cout: 64, k: 3 };
const fwdFlops = 2 * p.n * p.cout * p.h * p.w * p.cin * p.k * p.k;
const inputs = () => ({
  x: uniform(p.n * p.cin * p.h * p.w, 3),
  w: uniform(p.cout * p.cin * p.k * p.k, 4, -0.2, 0.2),
  g: uniform(p.n * p.cout * p.h * p.w, 5),
});

export const convWorkloads: Workload[] = [
  { id: "conv-fwd", kind: "conv", title: "conv2d fwd 64x32x32x32 -> 64, 3x3", params: p, work: { amount: fwdFlops, unit: "GFLOP/s" }, inputs },
  // Backward costs two more convolutions of the forward's size (dx and dw).
  { id: "conv-fwdbwd", kind: "convGrad", title: "conv2d fwd+bwd (dx, dw)", params: p, work: { amount: 3 * fwdFlops, unit: "GFLOP/s" }, inputs },
];

const arrays = (i: Record<string, Float32Array | Int32Array>) => ({
  x: np.array(i.x).reshape([p.n, p.cin, p.h, p.w]),
  w: np.array(i.w).reshape([p.cout, p.cin, p.k, p.k]),
  g: np.array(i.g).reshape([p.n, p.cout, p.h, p.w]),
});

export const oursConv: Impl = (_w, i) => {
  const { x, w } = arrays(i);
  let y = lax.conv(x, w, { padding: "SAME" });
  return { run: () => (y = lax.conv(x, w, { padding: "SAME" })), check: () => meanAbsOf(y) };
};

export const oursConvGrad: Impl = (_w, i) => {
  const { x, w, g } = arrays(i);
  const step = jit(grad((x: Tracer, w: Tracer, g: Tracer) => np.sum(lax.conv(x, w, { padding: "SAME" }).mul(g)), { argnums: [0, 1] }));
  let out = step(x, w, g) as Tracer[];
  return { run: () => (out = step(x, w, g) as Tracer[]), check: () => meanAbsOf(out[1]) };
};

/**
 * Memory-bound workloads, in GB/s of the bytes that must move: a 64 MiB copy (the machine's
 * copy bandwidth as each library reaches it: ours a fused negation, a map kernel reading and
 * writing every element), 2x2 max and average pooling forward + backward at smallConv's
 * largest size, and training-mode batch norm + ReLU forward + backward at the same size.
 */
import { np, jit, grad, random, type Tracer } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import { reduceWindow } from "../../core/lax-conv.ts";
import { uniform, type Impl, type Workload } from "../harness.ts";
import { meanAbsOf } from "./matmul.ts";

const copyN = 16 * 1024 * 1024;
const pool = { n: 256, c: 64, h: 28, w: 28 };
const poolN = pool.n * pool.c * pool.h * pool.w;

export const memoryWorkloads: Workload[] = [
  {
    id: "copy-64MiB",
    kind: "copy",
    title: "copy 64 MiB (ours: fused negation)",
    params: { n: copyN },
    work: { amount: 8 * copyN, unit: "GB/s" },
    inputs: () => ({ x: uniform(copyN, 11) }),
  },
  {
    id: "maxpool",
    kind: "maxPool",
    title: "max pool 2x2 fwd+bwd 256x64x28x28",
    params: pool,
    // Read x, write y; read the cotangent, write dx (the minimum with the argmax kept).
    work: { amount: 4 * (2 * poolN + 2 * (poolN / 4)), unit: "GB/s" },
    inputs: () => ({ x: uniform(poolN, 12), g: uniform(poolN / 4, 13) }),
  },
  {
    id: "avgpool",
    kind: "avgPool",
    title: "avg pool 2x2 fwd+bwd 256x64x28x28",
    params: pool,
    // Read x, write y; read the cotangent, write dx.
    work: { amount: 4 * (2 * poolN + 2 * (poolN / 4)), unit: "GB/s" },
    inputs: () => ({ x: uniform(poolN, 12), g: uniform(poolN / 4, 13) }),
  },
  {
    id: "batchnorm-relu",
    kind: "batchNorm",
    title: "batch norm + ReLU fwd+bwd 256x64x28x28",
    params: pool,
    // The fewest passes: forward reads x for the statistics, then reads x and writes y;
    // backward reads dy and x for its two sums, then reads them again and writes dx.
    work: { amount: 4 * 8 * poolN, unit: "GB/s" },
    inputs: () => ({ x: uniform(poolN, 14), g: uniform(poolN, 15) }),
  },
];

export const oursCopy: Impl = (_w, { x }) => {
  const xs = np.array(x);
  const f = jit((x: Tracer) => np.neg(x));
  let y = f(xs);
  return { run: () => (y = f(xs)), check: () => meanAbsOf(y) };
};

/** The input gradient of sum(pool(x) * g) for 2x2 pooling by `op`. */
const oursPool =
  (op: "max" | "mean"): Impl =>
  (_w, i) => {
    const x = np.array(i.x).reshape([pool.n, pool.c, pool.h, pool.w]);
    const g = np.array(i.g).reshape([pool.n, pool.c, pool.h / 2, pool.w / 2]);
    const f = jit(grad((x: Tracer, g: Tracer) => np.sum(reduceWindow(x, op, { window: [1, 1, 2, 2], strides: [1, 1, 2, 2] }).mul(g))));
    let dx = f(x, g) as Tracer;
    return { run: () => (dx = f(x, g) as Tracer), check: () => meanAbsOf(dx) };
  };
export const oursMaxPool = oursPool("max");
export const oursAvgPool = oursPool("mean");

export const oursBatchNorm: Impl = (_w, i) => {
  const shape = [pool.n, pool.c, pool.h, pool.w];
  const x = np.array(i.x).reshape(shape);
  const g = np.array(i.g).reshape(shape);
  const bn = nn.batchNorm();
  const { params, state } = bn.init(random.key(0), shape);
  // The cotangent dx of sum(relu(bn(x)) * g), as a training step's backward pass computes it.
  const f = jit(grad((x: Tracer, g: Tracer) => np.sum(np.maximum(bn.apply(params, state, x, { train: true }).y, 0).mul(g))));
  let dx = f(x, g) as Tracer;
  return { run: () => (dx = f(x, g) as Tracer), check: () => meanAbsOf(dx) };
};

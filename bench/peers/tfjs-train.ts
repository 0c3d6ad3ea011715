/**
 * The Augerino step in TF.js, written as TF.js would: tf.variable parameters, the four
 * copies concatenated along the batch, optimizer.minimize with Adam. TF.js has no matrix
 * exponential and no differentiable grid sampler (tf.image.transform has no gradient for
 * the transform), so both are built from its primitives: a Taylor series of batched
 * matMuls, and a gather-based bilinear sampler whose weights carry the gradient.
 */
import { uniform, type Inputs, type Prepared, type Workload } from "../harness.ts";
import { LR, smallConvLayers, THETA_INIT } from "../workloads/train.ts";

export type Tf = typeof import("@tensorflow/tfjs");
type T = import("@tensorflow/tfjs").Tensor;
type T4 = import("@tensorflow/tfjs").Tensor4D;

/**
 * conv2d 3x3, stride 1, SAME. On wasm the filter gradient is dw[kh,kw,ci,co] =
 * sum_{n,h,w} xpad[n,h+kh,w+kw,ci] dy[n,h,w,co]: a VALID conv2d with the channels of x as
 * its batch and the batch as its channels.
 */
export function tfConv2d(tf: Tf, backend: "cpu" | "wasm"): (x: T4, w: T4) => T4 {
  if (backend === "cpu") return (x, w) => tf.conv2d(x, w, 1, "same");
  // customGrad's declared type takes variadic tensors; the call below is (x, w, save).
  const customGrad = tf.customGrad as unknown as (f: (x: T, w: T, save: (ts: T[]) => void) => { value: T; gradFunc: (dy: T, saved: T[]) => T[] }) => (x: T4, w: T4) => T4;
  return customGrad((x, w, save) => {
    const [x4, w4] = [x as T4, w as T4];
    save([x4, w4]);
    return {
      value: tf.conv2d(x4, w4, 1, "same"),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as T4[];
        const d = dy as T4;
        const dx = tf.conv2dTranspose(d, ws, xs.shape, 1, "same");
        const p = (ws.shape[0] - 1) >> 1;
        const xt = tf.transpose(
          tf.pad(xs, [
            [0, 0],
            [p, p],
            [p, p],
            [0, 0],
          ]),
          [3, 1, 2, 0],
        );
        const dw = tf.transpose(tf.conv2d(xt as T4, tf.transpose(d, [1, 2, 0, 3]) as T4, 1, "valid"), [1, 2, 0, 3]);
        return [dx, dw];
      },
    };
  });
}

/**
 * tf.gather whose gradient goes nowhere: GatherV2's own gradient fails once its int32
 * indices are on the tape (they come from floor(grid)), and the images are data here.
 */
function gatherConst(tf: Tf): (x: T, idx: T) => T {
  const customGrad = tf.customGrad as unknown as (f: (x: T, idx: T) => { value: T; gradFunc: (dy: T) => T[] }) => (x: T, idx: T) => T;
  return customGrad((x, idx) => ({ value: tf.gather(x, idx), gradFunc: () => [tf.zerosLike(x), tf.zeros(idx.shape)] }));
}

/**
 * Bilinear grid_sample (zeros padding, align_corners) of x [N, H, W, C] at grid [N, Ho, Wo, 2].
 * With `trainable`, gradients flow to the grid through the bilinear weights only.
 */
export function tfGridSample(tf: Tf, x: T, grid: T, trainable = false): T {
  const gather = trainable ? gatherConst(tf) : (a: T, i: T) => tf.gather(a, i);
  const [n, h, w, c] = x.shape;
  const [, ho, wo] = grid.shape;
  const [gx, gy] = tf.unstack(grid, 3);
  const ix = gx.add(1).mul((w - 1) / 2);
  const iy = gy.add(1).mul((h - 1) / 2);
  const x0 = tf.floor(ix);
  const y0 = tf.floor(iy);
  const fx = ix.sub(x0);
  const fy = iy.sub(y0);
  const flat = x.reshape([n * h * w, c]);
  // Index arithmetic stays in float32 (exact below 2^24) and becomes int32 once: TF.js turns int32 * number into float32.
  const base = tf
    .range(0, n)
    .mul(h * w)
    .reshape([n, 1, 1]);
  const corner = (xc: T, yc: T, wgt: T) => {
    // The in-image mask from tf.step (xc is integral): logical ops have no gradient in TF.js
    // and would break the tape, which runs through xc back to theta.
    const inside = tf
      .step(xc.add(0.5))
      .mul(tf.step(tf.sub(w - 0.5, xc)))
      .mul(tf.step(yc.add(0.5)))
      .mul(tf.step(tf.sub(h - 0.5, yc)));
    const idx = base
      .add(
        tf
          .clipByValue(yc, 0, h - 1)
          .mul(w)
          .add(tf.clipByValue(xc, 0, w - 1)),
      )
      .toInt();
    const vals = gather(flat, idx.reshape([-1])).reshape([n, ho, wo, c]);
    return vals.mul(wgt.mul(inside).expandDims(3));
  };
  const [x1, y1, gx0, gy0] = [x0.add(1), y0.add(1), tf.sub(1, fx), tf.sub(1, fy)];
  return tf.addN([corner(x0, y0, gx0.mul(gy0)), corner(x1, y0, fx.mul(gy0)), corner(x0, y1, gx0.mul(fy)), corner(x1, y1, fx.mul(fy))]);
}

/** expm of [B, 3, 3] matrices by a 12-term Taylor series (the step's widths keep |A| below 1). */
function expm3(tf: Tf, a: T): T {
  let term = tf.eye(3).expandDims(0).tile([a.shape[0], 1, 1]);
  let sum = term;
  for (let k = 1; k <= 12; k++) {
    term = tf.matMul(term as import("@tensorflow/tfjs").Tensor3D, a as import("@tensorflow/tfjs").Tensor3D).div(k);
    sum = sum.add(term);
  }
  return sum;
}

const GENERATORS = [
  [0, 0, 0.1, 0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0.1, 0, 0, 0],
  [0, -1, 0, 1, 0, 0, 0, 0, 0],
  [1, 0, 0, 0, 1, 0, 0, 0, 0],
  [1, 0, 0, 0, -1, 0, 0, 0, 0],
  [0, 1, 0, 1, 0, 0, 0, 0, 0],
];

export function tfTrain(tf: Tf, backend: "cpu" | "wasm", wl: Workload, i: Inputs): Prepared {
  const { batch, copies, k, h, w, classes } = wl.params;
  const cb = batch * copies;
  const conv2d = tfConv2d(tf, backend);
  let seed = 100;
  const init = (shape: number[], fanIn: number) =>
    tf.variable(
      tf.tensor(
        uniform(
          shape.reduce((a, b) => a * b, 1),
          seed++,
          -1 / Math.sqrt(fanIn),
          1 / Math.sqrt(fanIn),
        ),
        shape,
      ),
    );
  const layers = smallConvLayers(k).map(([ci, co]) => ({
    w: init([3, 3, ci, co], 9 * ci),
    b: init([co], 9 * ci),
    gamma: tf.variable(tf.ones([co])),
    beta: tf.variable(tf.zeros([co])),
  }));
  const dense = { w: init([2 * k, classes], 2 * k), b: init([classes], 2 * k) };
  const theta = tf.variable(tf.tensor1d(THETA_INIT));
  const gens = tf.tensor2d(GENERATORS);
  const opt = tf.train.adam(LR);
  // Copies concatenated along the batch: copy c holds rows [c * batch, (c + 1) * batch).
  const x = tf.tile(tf.tensor4d(i.x as Float32Array, [batch, h, w, 1]), [copies, 1, 1, 1]);
  const labels = tf.oneHot(tf.tile(tf.tensor1d(i.y as Int32Array, "int32"), [copies]), classes);
  const lin = (m: number) => Array.from({ length: m }, (_, j) => -1 + (2 * j) / (m - 1));
  const base = tf
    .tensor2d(
      lin(h).flatMap((yv) => lin(w).flatMap((xv) => [xv, yv, 1])),
      [h * w, 3],
    )
    .expandDims(0)
    .tile([cb, 1, 1]);

  // Batch norm with each copy's own statistics, as the per-copy vmap in aug.loss computes them.
  const batchNorm = (y: T, gamma: T, beta: T) => {
    const [, hh, ww, ch] = y.shape;
    const g = y.reshape([copies, batch * hh * ww, ch]);
    const { mean, variance } = tf.moments(g, 1, true);
    return g
      .sub(mean)
      .mul(tf.rsqrt(variance.add(1e-5)))
      .mul(gamma)
      .add(beta)
      .reshape(y.shape);
  };
  const loss = () => {
    const width = tf.softplus(theta);
    const eps = tf.randomUniform([cb, 6]).mul(width).sub(width.div(2));
    const mats = expm3(tf, eps.matMul(gens).reshape([cb, 3, 3]));
    const grid = tf.matMul(base as import("@tensorflow/tfjs").Tensor3D, mats.slice([0, 0, 0], [cb, 2, 3]) as import("@tensorflow/tfjs").Tensor3D, false, true);
    let y = tfGridSample(tf, x, grid.reshape([cb, h, w, 2]), true);
    layers.forEach((l, j) => {
      y = tf.relu(batchNorm(conv2d(y as T4, l.w as unknown as T4).add(l.b), l.gamma, l.beta));
      if (j === 2 || j === 3) y = tf.maxPool(y as T4, 2, 2, "valid");
    });
    const logits = tf.mean(y, [1, 2]).matMul(dense.w).add(dense.b);
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1)));
    return ce.sub(tf.sqrt(tf.sum(tf.square(width))).mul(0.01)) as import("@tensorflow/tfjs").Scalar;
  };
  let last = NaN;
  return {
    run() {
      const l = opt.minimize(loss, true);
      last = l!.dataSync()[0];
      l!.dispose();
    },
    check: () => last,
  };
}

/**
 * Layers for batches of point clouds (molecules), in the spirit of LieConv with the trivial
 * group (Finzi et al. 2020): each point's new features are a sum over the other points of a
 * kernel of their relative position x_j - x_i, an MLP, applied to their features. Relative
 * positions make the layers translation invariant; the raw vector (not its length) leaves
 * them sensitive to rotations, the symmetry Augerino is then to learn.
 *
 * Clouds are packed in one array [N, P, 4 + C]: position (3), mask (1 for a real point, 0
 * for padding), then C features per point. Padding points never contribute, and their
 * outputs are zero, so a batch may mix clouds of different sizes.
 */
import { np, type Tracer } from "../index.ts";
import { kaimingUniformDefault } from "./init.ts";
import { checkApplyOptions, splitKeys, stateless, type Layer } from "./layer.ts";
import { checkOptions } from "../core/options.ts";

/** Checks a packed point-cloud shape [N, P, 4 + C]; returns C. */
function featuresOf(op: string, shape: number[]): number {
  if (shape.length !== 3 || shape[2] < 4) throw new Error(`${op}: point clouds must be packed as [N, P, 4 + C] (position, mask, C features), got [${shape}]`);
  return shape[2] - 4;
}

const unpack = (x: Tracer) => ({ pos: x.slice(null, null, [0, 3]), mask: x.slice(null, null, 3), h: x.slice(null, null, [4, x.shape[2]]) });

/** x * sigmoid(x), with the sigmoid through tanh so that neither it nor its gradient overflows. */
const swish = (x: Tracer) => x.mul(np.tanh(x.mul(0.5)).add(1)).mul(0.5);

const linear = (key: Tracer, out: number, fanIn: number) => {
  const [kw, kb] = splitKeys(key, 2);
  return { weight: kaimingUniformDefault(kw, [out, fanIn], fanIn), bias: kaimingUniformDefault(kb, [out], fanIn) };
};
const applyLinear = (p: { weight: Tracer; bias: Tracer }, x: Tracer) => np.matmul(x, p.weight.T).add(p.bias);

const positiveInt = (op: string, what: string, v: unknown) => {
  if (!Number.isInteger(v) || (v as number) <= 0) throw new Error(`${op}: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
};

export interface PointConvOpts {
  /** Kernel channels: the MLP on x_j - x_i outputs this many weights per pair (default 16). */
  kernel?: number;
  /** Hidden units of the kernel MLP (default 32). */
  hidden?: number;
}

/**
 * A point convolution: for each real point i,
 * h_i' = swish(W [mean_j m_j k(x_j - x_i) (x) h_j] + S h_i + b) over the real points j, with
 * k an MLP R^3 -> R^kernel (the PointConv factorisation of a kernel R^3 -> R^(C x features)).
 * Packed [N, P, 4 + C] in, [N, P, 4 + features] out (positions and mask pass through).
 * @example const net = nn.sequential(nn.pointConv(64), nn.pointConv(64), nn.pointPool(), nn.dense(1));
 */
export function pointConv(features: number, opts: PointConvOpts = {}): Layer {
  const op = "nn.pointConv";
  checkOptions(op, opts, ["kernel", "hidden"]);
  positiveInt(op, "features", features);
  const kernel = opts.kernel ?? 16;
  const hidden = opts.hidden ?? 32;
  positiveInt(op, "kernel", kernel);
  positiveInt(op, "hidden", hidden);
  return {
    name: `pointConv(${features}, kernel ${kernel}, hidden ${hidden})`,
    init(key, inputShape) {
      const c = featuresOf(op, inputShape);
      if (c < 1) throw new Error(`${op}: points need at least one feature (e.g. a constant 1), got [${inputShape}]`);
      const [k1, k2, km, ks] = splitKeys(key, 4);
      const params = { k1: linear(k1, hidden, 3), k2: linear(k2, kernel, hidden), mix: linear(km, features, kernel * c), self: linear(ks, features, c) };
      return { params, state: null, outputShape: [inputShape[0], inputShape[1], 4 + features] };
    },
    apply(params, state, x, opts) {
      checkApplyOptions("pointConv", opts);
      const c = featuresOf(op, x.shape);
      if (params.mix.weight.shape[1] !== kernel * c) throw new Error(`${op}: input has ${c} features per point, the layer was built for ${params.mix.weight.shape[1] / kernel}`);
      const [n, p] = x.shape;
      const { pos, mask, h } = unpack(x);
      // rel[n, i, j] = x_j - x_i.
      const rel = pos.reshape([n, 1, p, 3]).sub(pos.reshape([n, p, 1, 3]));
      const k = applyLinear(params.k2, swish(applyLinear(params.k1, rel))).mul(mask.reshape([n, 1, p, 1]));
      const count = np.maximum(np.sum(mask, { axis: 1 }), 1).reshape([n, 1, 1, 1]);
      const agg = np
        .einsum("nijk,njc->nikc", k, h)
        .div(count)
        .reshape([n, p, kernel * c]);
      const out = swish(applyLinear(params.mix, agg).add(applyLinear(params.self, h))).mul(mask.reshape([n, p, 1]));
      return { y: np.concatenate([pos, mask.reshape([n, p, 1]), out], { axis: -1 }), state };
    },
  };
}

/**
 * Pools packed point clouds [N, P, 4 + C] to [N, C]: the mean (default) or the sum of the
 * features over each cloud's real points.
 * @example nn.pointPool({ reduce: "sum" }) // an extensive quantity, such as an energy
 */
export function pointPool(opts: { reduce?: "mean" | "sum" } = {}): Layer {
  const op = "nn.pointPool";
  checkOptions(op, opts, ["reduce"]);
  const reduce = opts.reduce ?? "mean";
  if (reduce !== "mean" && reduce !== "sum") throw new Error(`${op}: reduce must be "mean" or "sum", got ${JSON.stringify(reduce)}`);
  return stateless(
    `pointPool(${reduce})`,
    (x) => {
      featuresOf(op, x.shape);
      const { mask, h } = unpack(x);
      const total = np.sum(h.mul(mask.reshape([...mask.shape, 1])), { axis: 1 });
      return reduce === "sum" ? total : total.div(np.maximum(np.sum(mask, { axis: 1, keepdims: true }), 1));
    },
    (s) => [s[0], featuresOf(op, s)],
  );
}

/**
 * Augerino's objective and its invariant / equivariant predictors (paper sections 3-3.2).
 * The network is any `apply(w, x) -> outputs` over a batch; parameters are `{ w, theta }`.
 */
import { np, random, vmap, type Tracer } from "../index.ts";
import type { AugDist } from "./distributions.ts";
import { crossEntropy } from "../nn/losses.ts";
import { checkChoice, checkOptions } from "../core/options.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each model has its own parameter type; `any` accepts them all and gives callbacks a usable `w`
export type ApplyFn = (w: any, x: Tracer) => Tracer;

/**
 * One transformed copy of each input: g_i x_i with g_i ~ mu_theta.
 * @example const xa = aug.augment(key, dist, theta, x)
 */
export function augment(key: Tracer, dist: AugDist, theta: Tracer, x: Tracer): Tracer {
  return dist.apply(x, dist.sample(key, theta, x.shape[0]));
}

/** The required `dist` option: an augmentation distribution (an object with sample and apply). */
function checkDist(op: string, opts: { dist?: AugDist } | undefined): void {
  const d = opts?.dist;
  if (typeof d !== "object" || d === null || typeof d.sample !== "function" || typeof d.apply !== "function") {
    throw new Error(`${op}: options need dist, an augmentation distribution such as aug.uniformAffine(), got ${d === undefined ? "none" : typeof d}`);
  }
}

export interface LossOpts {
  dist: AugDist;
  /** Monte Carlo copies per input (the reference trains with 1 per step; the paper's CIFAR runs use 4). Default 4. */
  nCopies?: number;
  /** Regularisation strength lambda. Default 0.01. */
  lambda?: number;
  /** "norm": R = -||width||_2 (the reference code); "sqnorm": R = -||width||^2 (the paper's text). Default "norm". */
  reg?: "norm" | "sqnorm";
  /** "ce": cross-entropy of logits against integer labels; "mse": mean squared error. Default "ce". */
  task?: "ce" | "mse";
}

function taskLoss(task: "ce" | "mse", out: Tracer, y: Tracer): Tracer {
  if (task === "mse") {
    const pred = out.shape.join() === y.shape.join() ? out : out.reshape(y.shape);
    return np.mean(np.square(pred.sub(y)));
  }
  if (y.ndim !== 1 || out.ndim !== 2 || out.shape[0] !== y.shape[0]) {
    throw new Error(`aug.loss: task "ce" needs logits [N, K] and integer labels [N], got [${out.shape}] and [${y.shape}]`);
  }
  return crossEntropy(out, y.astype("int32"));
}

/** The regulariser R(theta), which rewards wide distributions (it is subtracted from the loss). */
export function regularizer(dist: AugDist, theta: Tracer, reg: "norm" | "sqnorm" = "norm"): Tracer {
  const sq = np.sum(np.square(dist.width(theta)));
  return reg === "sqnorm" ? sq : np.sqrt(sq);
}

/**
 * Eq. 5: the mean over nCopies augmented copies of the task loss of f_w(g x), minus
 * lambda times the width regulariser. The copies are a `vmap` over keys, so the whole
 * objective is differentiable in w and theta (reparametrisation trick).
 * @example const g = grad((p) => aug.loss(apply, p, key, x, y, { dist }))({ w, theta })
 */
export function loss(apply: ApplyFn, params: { w: unknown; theta: Tracer }, key: Tracer, x: Tracer, y: Tracer, opts: LossOpts): Tracer {
  checkOptions("aug.loss", opts, ["dist", "nCopies", "lambda", "reg", "task"]);
  checkDist("aug.loss", opts);
  checkChoice("aug.loss", "reg", opts.reg, ["norm", "sqnorm"]);
  checkChoice("aug.loss", "task", opts.task, ["ce", "mse"]);
  const { dist, nCopies = 4, lambda = 0.01, reg = "norm", task = "ce" } = opts;
  if (!Number.isInteger(nCopies) || nCopies < 1) throw new Error(`aug.loss: nCopies must be a positive integer, got ${nCopies}`);
  const keys = random.split(key, nCopies) as unknown as Tracer;
  const perCopy = vmap((k: Tracer) => taskLoss(task, apply(params.w, augment(k, dist, params.theta, x)), y))(keys);
  return np.mean(perCopy).sub(regularizer(dist, params.theta, reg).mul(lambda));
}

/**
 * Samples for every copy, stacked [copies, n, ...]: the whole group when the distribution
 * can enumerate it, else nCopies draws per input.
 */
function copies(dist: AugDist, theta: Tracer, key: Tracer, n: number, nCopies: number): Tracer {
  if (dist.enumerate) {
    const elems = dist.enumerate(theta);
    const [g, ...rest] = elems.shape;
    return np.broadcastTo(elems.reshape([g, 1, ...rest]), [g, n, ...rest]);
  }
  const keys = random.split(key, nCopies) as unknown as Tracer;
  return vmap((k: Tracer) => dist.sample(k, theta, n))(keys);
}

/**
 * The mean over copies of `each(out, s)`, out = apply(w, g_s x). The copies are one `vmap`,
 * so a compiled predictor launches the same kernels for 64 copies as for one, batched.
 */
function averageCopies(op: string, apply: ApplyFn, params: { w: unknown; theta: Tracer }, key: Tracer, x: Tracer, opts: PredictOpts, each: (out: Tracer, s: Tracer) => Tracer): Tracer {
  checkOptions(op, opts, ["dist", "nCopies", "output"]);
  checkDist(op, opts);
  checkChoice(op, "output", opts.output, ["probs", "raw"]);
  const { dist, nCopies = 4 } = opts;
  const samples = copies(dist, params.theta, key, x.shape[0], nCopies);
  return np.mean(vmap((s: Tracer) => each(apply(params.w, dist.apply(x, s)), s))(samples), { axis: 0 });
}

export interface PredictOpts {
  dist: AugDist;
  nCopies?: number;
  /** "probs": average softmax probabilities (classification, default); "raw": average raw outputs (regression). */
  output?: "probs" | "raw";
}

/**
 * The invariant predictor fbar(x) = E_g f_w(g x): the average over copies of the model's
 * probabilities (or raw outputs). Exact (an average over the group) for finite groups.
 */
export function predict(apply: ApplyFn, params: { w: unknown; theta: Tracer }, key: Tracer, x: Tracer, opts: PredictOpts): Tracer {
  const probs = (opts.output ?? "probs") === "probs";
  return averageCopies("aug.predict", apply, params, key, x, opts, (out) => (probs ? np.softmax(out, { axis: -1 }) : out));
}

/**
 * The equivariant predictor E_g g^-1 f_w(g x) for dense outputs [N, K, H, W] (e.g.
 * segmentation maps): each output map is warped back by the inverse transform.
 */
export function predictEquivariant(apply: ApplyFn, params: { w: unknown; theta: Tracer }, key: Tracer, x: Tracer, opts: PredictOpts): Tracer {
  checkDist("aug.predictEquivariant", opts);
  const { dist } = opts;
  if (!dist.inverse) throw new Error(`predictEquivariant: distribution ${dist.name} has no inverse transforms`);
  return averageCopies("aug.predictEquivariant", apply, params, key, x, opts, (out, s) => {
    if (out.ndim !== 4) throw new Error(`predictEquivariant: the model must return dense maps [N, K, H, W], got [${out.shape}]`);
    return dist.apply(out, dist.inverse!(s));
  });
}

/**
 * The Augerino training loop shared by the experiments: a jitted step over { w, theta }
 * with Adam in two parameter groups (weight decay on the network only, as the reference),
 * a progress bar, per-epoch width trajectories and resumable checkpoints.
 *
 * Networks with batch statistics (batchNorm) train on the statistics of each augmented
 * batch; their running averages are estimated once training ends, from augmented training
 * batches, so the per-step state never has to cross the vmap over copies.
 */
import { np, random, jit, tree, valueAndGrad, type Tracer } from "../index.ts";
import * as nn from "../nn/index.ts";
import * as optim from "../optim/index.ts";
import * as aug from "../augerino/index.ts";
import { Progress } from "./progress.ts";
import { loadCheckpoint, saveCheckpoint, stampOf } from "./checkpoint.ts";
import { yieldToEventLoop } from "./datasets/index.ts";

export interface Dataset {
  x: Tracer;
  y: Tracer;
}

export interface TrainConfig {
  net: nn.Layer;
  dist: aug.AugDist;
  task: "ce" | "mse";
  data: Dataset;
  epochs: number;
  batchSize: number;
  lr: number;
  lrAug: number;
  weightDecay: number;
  lambda: number;
  reg: "norm" | "sqnorm";
  nCopies: number;
  /**
   * The objective in place of aug.loss (e.g. dense labels transformed together with the
   * inputs); it gets the loop's `apply`. No training accuracy is tracked then.
   */
  objective?: (apply: (w: unknown, x: Tracer) => Tracer, params: { w: unknown; theta: Tracer }, key: Tracer, x: Tracer, y: Tracer) => Tracer;
  /** The network's learning rate over training: constant (default) or cosine decay to 0. */
  schedule?: "constant" | "cosine";
  seed: number;
  /**
   * A score of the network after each epoch (e.g. held-out accuracy), recorded in the
   * history as `valid`: it gets the parameters and the evaluation state (batchNorm running
   * averages estimated as at the end of training, so it costs their passes each epoch).
   */
  validate?: (params: { w: unknown; theta: Tracer }, state: unknown) => Promise<number>;
  /** Where checkpoints go; training resumes from one whose version, config and code match. */
  checkpointDir?: string;
  label?: string;
  quiet?: boolean;
}

export interface HistoryRow {
  epoch: number;
  step: number;
  loss: number;
  /** Accuracy on the un-augmented training batches of the epoch (classification; batch statistics for batchNorm nets). */
  trainAcc?: number;
  /** `validate`'s score after the epoch. */
  valid?: number;
  widths: number[];
}

export interface TrainResult {
  params: { w: unknown; theta: Tracer };
  /** The network's state for evaluation (batchNorm running averages), null when it has none. */
  state: unknown;
  history: HistoryRow[];
  seconds: number;
  resumedFrom?: number;
}

export type Hyperparams = Pick<TrainConfig, "epochs" | "batchSize" | "lr" | "lrAug" | "weightDecay" | "lambda" | "reg" | "nCopies" | "schedule">;

/** The optimisation settings out of an experiment's configuration. */
export function hyperparams(cfg: Hyperparams): Hyperparams {
  const { epochs, batchSize, lr, lrAug, weightDecay, lambda, reg, nCopies, schedule } = cfg;
  return { epochs, batchSize, lr, lrAug, weightDecay, lambda, reg, nCopies, schedule };
}

/** The network in evaluation mode as `apply(w, x) -> outputs`, with its state (e.g. a TrainResult's). */
export function applyOf(net: nn.Layer, state: unknown = null) {
  return (w: unknown, x: Tracer) => net.apply(w, state, x).y;
}

const hasLeaves = (t: unknown) => tree.leaves(t).length > 0;

/** Batches whose statistics make the running averages (momentum 0.1 forgets the initial ones). */
const STAT_BATCHES = 100;

/**
 * The running averages of a network's batch statistics under the learned augmentation:
 * training-mode passes over augmented training batches, as the averages would have been
 * accumulated in training.
 */
async function estimateState(net: nn.Layer, params: { w: unknown; theta: Tracer }, state: unknown, dist: aug.AugDist, data: Dataset, batchSize: number, key: Tracer): Promise<unknown> {
  const n = data.x.shape[0];
  const pass = jit((w: unknown, theta: Tracer, s: unknown, k: Tracer, x: Tracer) => net.apply(w, s, aug.augment(k, dist, theta, x), { train: true }).state);
  const perm = random.permutation(key, n);
  for (let b = 0; b < STAT_BATCHES; b++) {
    const start = (b * batchSize) % (n - batchSize + 1);
    state = pass(params.w, params.theta, state, random.foldIn(key, b + 1), np.take(data.x, perm.slice([start, start + batchSize]), { axis: 0 }));
    await yieldToEventLoop();
  }
  return state;
}

function configKey(cfg: TrainConfig): string {
  const { data, net, dist, checkpointDir, quiet, label, validate, ...rest } = cfg;
  return JSON.stringify({ ...rest, net: net.name, dist: dist.name, n: data.x.shape });
}

export async function trainAugerino(cfg: TrainConfig): Promise<TrainResult> {
  const t0 = Date.now();
  const n = cfg.data.x.shape[0];
  const steps = Math.floor(n / cfg.batchSize);
  if (steps < 1) throw new Error(`train: batch size ${cfg.batchSize} exceeds the ${n} training examples`);
  const [kInit, kTrain] = random.split(random.key(cfg.seed));
  const init = cfg.net.init(kInit, [1, ...cfg.data.x.shape.slice(1)]);
  let params = { w: init.params, theta: cfg.dist.init() };
  // With batch statistics, training normalises each batch by its own (the state passed in is unused).
  const batchStats = hasLeaves(init.state);
  const apply = batchStats ? (w: unknown, x: Tracer) => cfg.net.apply(w, init.state, x, { train: true }).y : applyOf(cfg.net);
  const lr = cfg.schedule === "cosine" ? optim.cosineDecay({ init: cfg.lr, decaySteps: cfg.epochs * steps }) : cfg.lr;
  const tx = optim.multiTransform(
    {
      w: optim.chain(optim.addDecayedWeights(cfg.weightDecay), optim.adam({ lr })),
      theta: optim.adam({ lr: cfg.lrAug }),
    },
    { w: "w", theta: "theta" },
  );
  let optState = tx.init(params);
  let history: HistoryRow[] = [];
  let startEpoch = 0;
  let resumedFrom: number | undefined;

  const label = cfg.label ?? "train";
  const ckpt = cfg.checkpointDir ? { dir: cfg.checkpointDir, stamp: stampOf(configKey(cfg)) } : undefined;
  const saved = ckpt && (await loadCheckpoint<{ params: typeof params; optState: typeof optState }, HistoryRow>(ckpt.dir, ckpt.stamp, cfg.epochs, label, cfg.quiet));
  if (saved) {
    ({ params, optState } = saved.state);
    history = saved.history;
    startEpoch = resumedFrom = saved.epoch;
  }

  const classify = cfg.task === "ce" && !cfg.objective;
  const lossFn = (p: typeof params, key: Tracer, x: Tracer, y: Tracer) =>
    cfg.objective ? cfg.objective(apply, p, key, x, y) : aug.loss(apply, p, key, x, y, { dist: cfg.dist, nCopies: cfg.nCopies, lambda: cfg.lambda, reg: cfg.reg, task: cfg.task });
  const step = jit((p: typeof params, s: typeof optState, key: Tracer, x: Tracer, y: Tracer) => {
    const [loss, g] = valueAndGrad(lossFn)(p, key, x, y);
    const { updates, state } = tx.update(g, s, p);
    return { params: optim.applyUpdates(p, updates), optState: state, loss };
  });
  const correct = jit((w: unknown, x: Tracer, y: Tracer) => np.sum(np.equal(np.argmax(apply(w, x), { axis: -1 }), y)));

  const evalState = (key: Tracer) => (batchStats ? estimateState(cfg.net, params, init.state, cfg.dist, cfg.data, cfg.batchSize, key) : Promise.resolve(init.state));
  const progress = new Progress(label, cfg.epochs * steps, cfg.quiet);
  for (let epoch = startEpoch; epoch < cfg.epochs; epoch++) {
    const perm = random.permutation(random.foldIn(kTrain, epoch), n);
    let lossSum = 0;
    let hits = 0;
    let lastWidths: ArrayLike<number> = [];
    for (let b = 0; b < steps; b++) {
      const idx = perm.slice([b * cfg.batchSize, (b + 1) * cfg.batchSize]);
      const xb = np.take(cfg.data.x, idx, { axis: 0 });
      const yb = np.take(cfg.data.y, idx, { axis: 0 });
      const out = step(params, optState, random.foldIn(random.foldIn(kTrain, epoch), b + 1_000_003), xb, yb);
      params = out.params;
      optState = out.optState;
      // One batched read per step (a GPU round trip on webgpu): the loss, the hits and the widths.
      const [loss, widths, hit] = await Promise.all([out.loss.data(), cfg.dist.width(params.theta).data(), classify ? correct(params.w, xb, yb).data() : undefined]);
      lossSum += loss[0];
      if (hit) hits += hit[0];
      lastWidths = widths;
      progress.update(
        epoch * steps + b + 1,
        `epoch ${epoch + 1} loss ${(lossSum / (b + 1)).toFixed(4)}${classify ? ` acc ${(hits / ((b + 1) * cfg.batchSize)).toFixed(3)}` : ""} widths ${fmtWidths(widths)}`,
      );
      // Let finalizers return the step's buffers to the pool.
      await yieldToEventLoop();
    }
    history.push({
      epoch: epoch + 1,
      step: (epoch + 1) * steps,
      loss: lossSum / steps,
      trainAcc: classify ? hits / (steps * cfg.batchSize) : undefined,
      // The widths after the epoch's last step, as read for its progress line.
      widths: Array.from(lastWidths),
      ...(cfg.validate ? { valid: await cfg.validate(params, await evalState(random.foldIn(kTrain, -2 - epoch))) } : {}),
    });
    if (cfg.validate && !cfg.quiet) progress.note(`${label} epoch ${epoch + 1}: validation ${history[history.length - 1].valid!.toFixed(4)}`);
    if (ckpt) await saveCheckpoint(ckpt.dir, ckpt.stamp, epoch + 1, history, { params, optState });
  }
  progress.done();
  const state = await evalState(random.foldIn(kTrain, -1));
  return { params, state, history, seconds: (Date.now() - t0) / 1000, resumedFrom };
}

export function fmtWidths(ws: ArrayLike<number>): string {
  return `[${Array.from(ws, (w) => w.toFixed(2)).join(" ")}]`;
}

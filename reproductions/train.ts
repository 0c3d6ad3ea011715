/**
 * The Augerino training loop shared by the experiments: a jitted step over { w, theta }
 * with Adam in two parameter groups (weight decay on the network only, as the reference),
 * a progress bar, per-epoch width trajectories and resumable checkpoints.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { np, random, jit, valueAndGrad, type Tracer } from "../index.ts";
import * as nn from "../nn/index.ts";
import * as optim from "../optim/index.ts";
import * as aug from "../augerino/index.ts";
import { Progress } from "./progress.ts";

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
  seed: number;
  /** Where checkpoints go; training resumes from one whose config matches. */
  checkpointDir?: string;
  label?: string;
  quiet?: boolean;
}

export interface HistoryRow {
  epoch: number;
  step: number;
  loss: number;
  /** Accuracy on the un-augmented training batches of the epoch (classification). */
  trainAcc?: number;
  widths: number[];
}

export interface TrainResult {
  params: { w: unknown; theta: Tracer };
  history: HistoryRow[];
  seconds: number;
  resumedFrom?: number;
}

export type Hyperparams = Pick<TrainConfig, "epochs" | "batchSize" | "lr" | "lrAug" | "weightDecay" | "lambda" | "reg" | "nCopies">;

/** The optimisation settings out of an experiment's configuration. */
export function hyperparams(cfg: Hyperparams): Hyperparams {
  const { epochs, batchSize, lr, lrAug, weightDecay, lambda, reg, nCopies } = cfg;
  return { epochs, batchSize, lr, lrAug, weightDecay, lambda, reg, nCopies };
}

/** The network as `apply(w, x) -> outputs` (the experiments' networks carry no state). */
export function applyOf(net: nn.Layer) {
  return (w: unknown, x: Tracer) => net.apply(w, null, x).y;
}

function configKey(cfg: TrainConfig): string {
  const { data, net, dist, checkpointDir, quiet, label, ...rest } = cfg;
  return JSON.stringify({ ...rest, net: net.name, dist: dist.name, n: data.x.shape });
}

export async function trainAugerino(cfg: TrainConfig): Promise<TrainResult> {
  const t0 = Date.now();
  const apply = applyOf(cfg.net);
  const n = cfg.data.x.shape[0];
  const steps = Math.floor(n / cfg.batchSize);
  if (steps < 1) throw new Error(`train: batch size ${cfg.batchSize} exceeds the ${n} training examples`);
  const [kInit, kTrain] = random.split(random.key(cfg.seed));
  let params = { w: cfg.net.init(kInit, [1, ...cfg.data.x.shape.slice(1)]).params, theta: cfg.dist.init() };
  const tx = optim.multiTransform(
    {
      w: optim.chain(optim.addDecayedWeights(cfg.weightDecay), optim.adam({ lr: cfg.lr })),
      theta: optim.adam({ lr: cfg.lrAug }),
    },
    { w: "w", theta: "theta" },
  );
  let optState = tx.init(params);
  let history: HistoryRow[] = [];
  let startEpoch = 0;
  let resumedFrom: number | undefined;

  const ckptJson = cfg.checkpointDir ? join(cfg.checkpointDir, "checkpoint.json") : undefined;
  const ckptTensors = cfg.checkpointDir ? join(cfg.checkpointDir, "checkpoint.safetensors") : undefined;
  if (ckptJson && ckptTensors && existsSync(ckptJson) && existsSync(ckptTensors)) {
    const meta = JSON.parse(readFileSync(ckptJson, "utf8"));
    if (meta.config === configKey(cfg) && meta.epoch < cfg.epochs) {
      const saved = (await nn.load(ckptTensors)) as { params: typeof params; optState: typeof optState };
      params = saved.params;
      optState = saved.optState;
      history = meta.history;
      startEpoch = meta.epoch;
      resumedFrom = meta.epoch;
      if (!cfg.quiet) process.stderr.write(`resuming from the checkpoint after epoch ${meta.epoch}\n`);
    }
  }

  const lossFn = (p: typeof params, key: Tracer, x: Tracer, y: Tracer) =>
    aug.loss(apply, p, key, x, y, { dist: cfg.dist, nCopies: cfg.nCopies, lambda: cfg.lambda, reg: cfg.reg, task: cfg.task });
  const step = jit((p: typeof params, s: typeof optState, key: Tracer, x: Tracer, y: Tracer) => {
    const [loss, g] = valueAndGrad(lossFn)(p, key, x, y);
    const { updates, state } = tx.update(g, s, p);
    return { params: optim.applyUpdates(p, updates), optState: state, loss };
  });
  const correct = jit((w: unknown, x: Tracer, y: Tracer) => np.sum(np.equal(np.argmax(apply(w, x), { axis: -1 }), y)));

  const progress = new Progress(cfg.label ?? "train", cfg.epochs * steps, cfg.quiet);
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
      const [loss, widths, hit] = await Promise.all([out.loss.data(), cfg.dist.width(params.theta).data(), cfg.task === "ce" ? correct(params.w, xb, yb).data() : undefined]);
      lossSum += loss[0];
      if (hit) hits += hit[0];
      lastWidths = widths;
      progress.update(epoch * steps + b + 1, `epoch ${epoch + 1} loss ${(lossSum / (b + 1)).toFixed(4)}${cfg.task === "ce" ? ` acc ${(hits / ((b + 1) * cfg.batchSize)).toFixed(3)}` : ""} widths ${fmtWidths(widths)}`);
      // Let finalizers return the step's buffers to the pool.
      await new Promise((r) => setImmediate(r));
    }
    history.push({
      epoch: epoch + 1,
      step: (epoch + 1) * steps,
      loss: lossSum / steps,
      trainAcc: cfg.task === "ce" ? hits / (steps * cfg.batchSize) : undefined,
      // The widths after the epoch's last step, as read for its progress line.
      widths: Array.from(lastWidths),
    });
    if (ckptJson && ckptTensors) {
      mkdirSync(cfg.checkpointDir!, { recursive: true });
      await nn.save(ckptTensors, { params, optState });
      writeFileSync(ckptJson, JSON.stringify({ config: configKey(cfg), epoch: epoch + 1, history }));
    }
  }
  progress.done();
  return { params, history, seconds: (Date.now() - t0) / 1000, resumedFrom };
}

export function fmtWidths(ws: ArrayLike<number>): string {
  return `[${Array.from(ws, (w) => w.toFixed(2)).join(" ")}]`;
}

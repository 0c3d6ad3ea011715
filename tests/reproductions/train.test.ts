import { describe, expect, it } from "vitest";
import { np, random, type Tracer } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import * as aug from "../../augerino/index.ts";
import { applyOf, trainAugerino, type TrainConfig } from "../../reproductions/train.ts";
import { tempDir } from "./fixtures.ts";

// A small batchNorm net on a synthetic two-class task: vertical vs horizontal stripes.
function task(n: number) {
  const [kx, ky] = random.split(random.key(7));
  const y = random.bernoulli(ky, 0.5, [n]).astype("int32");
  const stripes = np.array([0, 1, 0, 1, 0, 1, 0, 1]).reshape([1, 1, 1, 8]);
  const img = np.where(y.reshape([n, 1, 1, 1]).equal(1), stripes, stripes.reshape([1, 1, 8, 1]));
  return { x: img.mul(2).add(random.normal(kx, [n, 1, 8, 8]).mul(0.3)), y };
}

const net = nn.sequential(nn.conv2d(4, 3), nn.batchNorm(), nn.relu(), nn.globalAvgPool(), nn.dense(2));
const config = (extra: Partial<TrainConfig> = {}): TrainConfig => ({
  net, dist: aug.uniformAffine(), task: "ce", data: task(200), epochs: 2, batchSize: 20,
  lr: 1e-2, lrAug: 1e-2, weightDecay: 1e-4, lambda: 0.01, reg: "norm", nCopies: 1, seed: 3, quiet: true, ...extra,
});

const host = async (t: Tracer) => Array.from(await t.data());

describe("trainAugerino with batch statistics", () => {
  it("estimates the running averages from the training data after training", async () => {
    const cfg = config();
    const res = await trainAugerino(cfg);
    const state = res.state as { mean: Tracer; var: Tracer }[];
    const w = res.params.w as { weight: Tracer; bias: Tracer }[];
    // The first batchNorm's input over the whole training set (the widths stay near 0, so
    // augmentation barely moves the images).
    const h = nn.conv2d(4, 3).apply(w[0], null, cfg.data.x).y;
    const mean = await host(np.mean(h, { axis: [0, 2, 3] }));
    const sd = (await host(np.std(h, { axis: [0, 2, 3] })));
    const runMean = await host(state[1].mean);
    const runVar = await host(state[1].var);
    for (let c = 0; c < 4; c++) {
      expect(Math.abs(runMean[c] - mean[c])).toBeLessThan(0.2 * sd[c]);
      expect(runVar[c] / (sd[c] * sd[c])).toBeGreaterThan(0.6);
      expect(runVar[c] / (sd[c] * sd[c])).toBeLessThan(1.5);
    }
    // Evaluation with the estimated averages classifies as well as the batch statistics do.
    const evalHits = await host(np.sum(np.equal(np.argmax(applyOf(net, res.state)(res.params.w, cfg.data.x), { axis: -1 }), cfg.data.y)));
    expect(evalHits[0] / 200).toBeGreaterThan(0.9);
    expect(res.history[1].trainAcc).toBeGreaterThan(0.9);
  }, 120_000);

  it("a finished run's checkpoint is loaded, not trained again", async () => {
    const dir = tempDir("train-ckpt");
    const first = await trainAugerino(config({ checkpointDir: dir, schedule: "cosine" }));
    const again = await trainAugerino(config({ checkpointDir: dir, schedule: "cosine" }));
    expect(again.resumedFrom).toBe(2);
    expect(again.history).toEqual(first.history);
    expect(await host(again.params.theta)).toEqual(await host(first.params.theta));
    // A different schedule is a different run: its checkpoint does not match.
    const constant = await trainAugerino(config({ checkpointDir: dir }));
    expect(constant.resumedFrom).toBeUndefined();
  }, 120_000);
});

import { describe, expect, it, vi } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { np, random, type Tracer } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import * as aug from "../../augerino/index.ts";
import { applyOf, trainAugerino, type TrainConfig } from "../../reproductions/train.ts";
import { beginRun, runResumes, runSeconds } from "../../reproductions/checkpoint.ts";
import { packageVersion } from "../../reproductions/cli.ts";
import { writeReport, type ExperimentResult } from "../../reproductions/experiment.ts";
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
  net,
  dist: aug.uniformAffine(),
  task: "ce",
  data: task(200),
  epochs: 2,
  batchSize: 20,
  lr: 1e-2,
  lrAug: 1e-2,
  weightDecay: 1e-4,
  lambda: 0.01,
  reg: "norm",
  nCopies: 1,
  seed: 3,
  quiet: true,
  ...extra,
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
    const sd = await host(np.std(h, { axis: [0, 2, 3] }));
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

  it("scores the network after every epoch with the evaluation state, and keeps the scores in checkpoints", async () => {
    const dir = tempDir("train-valid");
    const heldOut = task(100);
    const calls: { bias: number[]; mean: number[] }[] = [];
    const validate = async (params: { w: unknown; theta: Tracer }, state: unknown) => {
      const w = params.w as { bias: Tracer }[];
      calls.push({ bias: await host(w[0].bias), mean: await host((state as { mean: Tracer }[])[1].mean) });
      const hits = np.sum(np.equal(np.argmax(applyOf(net, state)(params.w, heldOut.x), { axis: -1 }), heldOut.y));
      return (await host(hits))[0] / 100;
    };
    const res = await trainAugerino(config({ checkpointDir: dir, validate }));
    expect(calls).toHaveLength(2);
    // Each epoch's parameters and running averages, not the initial ones: they moved between the epochs.
    expect(calls[1].bias).not.toEqual(calls[0].bias);
    expect(calls[1].mean).not.toEqual(calls[0].mean);
    expect(res.history.map((h) => h.valid)).toEqual(res.history.map(() => expect.any(Number)));
    expect(res.history[1].valid).toBeGreaterThan(0.9);
    // The final state is the last epoch's estimate again (same key stream as without validation).
    const plain = await trainAugerino(config());
    expect(await host((res.state as { mean: Tracer }[])[1].mean)).toEqual(await host((plain.state as { mean: Tracer }[])[1].mean));
    const again = await trainAugerino(config({ checkpointDir: dir, validate }));
    expect(again.resumedFrom).toBe(2);
    expect(again.history.map((h) => h.valid)).toEqual(res.history.map((h) => h.valid));
    expect(calls).toHaveLength(2);
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

describe("checkpoints", () => {
  const small = (dir: string) => config({ data: task(60), epochs: 1, checkpointDir: dir, label: "small" });

  /** Trains while collecting stderr, for the notices. */
  async function trainNoting(cfg: TrainConfig) {
    const notes: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (notes.push(String(chunk)), true));
    try {
      return { res: await trainAugerino(cfg), notes: notes.join("") };
    } finally {
      spy.mockRestore();
    }
  }

  it("record the version and hashes, and start fresh with one notice when they differ", async () => {
    const dir = tempDir("ckpt-stamp");
    await trainAugerino(small(dir));
    const json = join(dir, "checkpoint.json");
    const meta = JSON.parse(readFileSync(json, "utf8"));
    const version = packageVersion();
    expect(meta).toMatchObject({ version, epoch: 1, configHash: expect.stringMatching(/^[0-9a-f]{64}$/), codeHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const tampered: [Record<string, unknown>, RegExp][] = [
      [{ ...meta, version: "0.0.0-old" }, new RegExp(`made by augerino 0\\.0\\.0-old, this is ${version.replace(/\./g, "\\.")}`)],
      [{ ...meta, codeHash: "0".repeat(64) }, /made by other code \(code hash 000000000000, now [0-9a-f]{12}\)/],
      [{ ...meta, configHash: "0".repeat(64) }, /made with another configuration/],
      // What the code before this stamp wrote.
      [{ config: "{}", epoch: 1, history: meta.history }, /made by an older augerino that recorded no version/],
    ];
    for (const [saved, why] of tampered) {
      writeFileSync(json, JSON.stringify(saved));
      const { res, notes } = await trainNoting({ ...small(dir), quiet: true });
      expect(res.resumedFrom).toBeUndefined();
      expect(notes).toMatch(new RegExp(`^small: not resuming from ${dir}: it was ${why.source}; starting fresh\n$`));
      // The fresh run's checkpoint carries the current stamp again.
      expect(JSON.parse(readFileSync(json, "utf8"))).toMatchObject({ version: meta.version, codeHash: meta.codeHash, configHash: meta.configHash });
    }
  }, 120_000);

  it("a resumed run is journalled with the time of its earlier sessions", async () => {
    const dir = tempDir("ckpt-journal");
    beginRun();
    await trainAugerino(small(dir));
    expect(runResumes()).toEqual([]);
    const json = join(dir, "checkpoint.json");
    writeFileSync(json, JSON.stringify({ ...JSON.parse(readFileSync(json, "utf8")), runSeconds: 1000 }));
    beginRun();
    const { res, notes } = await trainNoting({ ...small(dir), quiet: false });
    expect(res.resumedFrom).toBe(1);
    expect(notes).toMatch(/small: resuming from the checkpoint after epoch 1 of 1/);
    expect(runResumes()).toEqual([{ label: "small", epoch: 1, epochs: 1 }]);
    expect(runSeconds()).toBeGreaterThanOrEqual(1000);

    const out = tempDir("report");
    const result: ExperimentResult = { config: { seed: 0, backend: "cpu" }, metrics: {}, widths: [], trajectory: {}, targets: [], paper: [], figures: [], seconds: 3 };
    writeReport("demo", "demo", result, out, { resumed: runResumes(), seconds: 1234 });
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("The whole run took 20m34s, earlier sessions included; it was resumed from checkpoints (small after epoch 1 of 1).");
    writeReport("demo", "demo", result, out, { resumed: [], seconds: 42 });
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("The whole run took 42.0s; it was not resumed.");
    expect(JSON.parse(readFileSync(join(out, "results.json"), "utf8")).run).toEqual({ resumed: [], seconds: 42 });
  }, 120_000);

  it("--resume-other-code continues from another code's checkpoint, records the change, and still refuses another configuration", async () => {
    const dir = tempDir("ckpt-other-code");
    await trainAugerino(small(dir));
    const json = join(dir, "checkpoint.json");
    const meta = JSON.parse(readFileSync(json, "utf8"));
    writeFileSync(json, JSON.stringify({ ...meta, codeHash: "a".repeat(64) }));
    beginRun({ otherCode: true });
    const { res, notes } = await trainNoting({ ...small(dir), quiet: false });
    beginRun();
    expect(res.resumedFrom).toBe(1);
    expect(notes).toMatch(new RegExp(`small: resuming from the checkpoint after epoch 1 of 1 \\(made by other code, hash a{12}, now ${meta.codeHash.slice(0, 12)}: --resume-other-code\\)`));
    const resumed = [{ label: "small", epoch: 1, epochs: 1, codeChange: { from: "a".repeat(64), to: meta.codeHash } }];
    const out = tempDir("report-other-code");
    const result: ExperimentResult = { config: { seed: 0, backend: "cpu" }, metrics: {}, widths: [], trajectory: {}, targets: [], paper: [], figures: [], seconds: 3 };
    writeReport("demo", "demo", result, out, { resumed, seconds: 60 });
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain(`(small after epoch 1 of 1, made by other code (hash aaaaaaaaaaaa, continued by ${meta.codeHash.slice(0, 12)})).`);

    writeFileSync(json, JSON.stringify({ ...meta, codeHash: "a".repeat(64), configHash: "0".repeat(64) }));
    beginRun({ otherCode: true });
    const other = await trainNoting({ ...small(dir), quiet: true });
    beginRun();
    expect(other.res.resumedFrom).toBeUndefined();
    expect(other.notes).toMatch(/made with another configuration/);
  }, 120_000);
});

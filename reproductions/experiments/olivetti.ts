/**
 * Olivetti faces (paper sec. 4.3, Fig. 4): faces rotated within [-pi/2, pi/2] and the
 * target is the angle itself, so rotation invariance would destroy the signal. Augerino
 * should collapse the rotation width (paper: from ~1 to 0.003 rad) and keep the others small.
 */
import { join } from "node:path";
import { np, jit, type Tracer } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import * as aug from "../../augerino/index.ts";
import { OLIVETTI, olivetti } from "../datasets/index.ts";
import type { Experiment, ExperimentResult, RunOpts } from "../experiment.ts";
import { lineChart, runCaption, writeChart } from "../figures.ts";
import { applyOf, trainAugerino, hyperparams } from "../train.ts";
import { withOverrides } from "../config-overrides.ts";

const faceNet = (k = 8) =>
  nn.sequential(nn.conv2d(k, 3, { strides: 2 }), nn.relu(), nn.conv2d(2 * k, 3, { strides: 2 }), nn.relu(), nn.conv2d(2 * k, 3, { strides: 2 }), nn.relu(), nn.flatten(), nn.dense(1));

export function olivettiConfig(quick: boolean, epochs?: number) {
  return {
    // Quick: each face rotated 4 times. With 2 the largest other width ended at 0.097 on the CPU
    // and 0.103 on WebGPU (seed 0), on the target's edge; with 4, 0.074 and 0.078.
    repeats: quick ? 4 : 30,
    epochs: epochs ?? (quick ? 40 : 30),
    batchSize: 50,
    lr: 3e-3,
    lrAug: 5e-2,
    weightDecay: 1e-4,
    lambda: 0.001,
    reg: "norm" as const,
    nCopies: 1,
    k: 8,
    initRotation: 1,
    initOther: 0.05,
  };
}

export const olivettiExperiment: Experiment = {
  name: "olivetti",
  summary: "Fig. 4: regressing the rotation angle of faces collapses the rotation width",
  datasets: [OLIVETTI],
  config: olivettiConfig,
  async run(opts: RunOpts): Promise<ExperimentResult> {
    const t0 = Date.now();
    const cfg = withOverrides(olivettiConfig(opts.quick, opts.epochs), opts.set);
    const data = await olivetti({ seed: opts.seed, repeats: cfg.repeats });
    const net = faceNet(cfg.k);
    const init = [cfg.initOther, cfg.initOther, cfg.initRotation, cfg.initOther, cfg.initOther, cfg.initOther];
    const dist = aug.uniformAffine({ initWidth: init });
    const res = await trainAugerino({
      net,
      dist,
      task: "mse",
      data: data.train,
      ...hyperparams(cfg),
      seed: opts.seed,
      checkpointDir: join(opts.out, "checkpoint"),
      label: "olivetti",
      quiet: opts.quiet,
    });
    const widths = res.history[res.history.length - 1].widths;
    const apply = applyOf(net);
    const testMse = (await jit((w: unknown, x: Tracer, y: Tracer) => np.mean(np.square(apply(w, x).reshape([-1]).sub(y))))(res.params.w, data.test.x, data.test.y).data())[0];
    const trajectory = { run: [{ epoch: 0, widths: init }, ...res.history.map((h) => ({ epoch: h.epoch, widths: h.widths }))] };
    const rows = trajectory.run.flatMap((t) => aug.GENERATOR_NAMES_2D.map((g, i) => ({ epoch: t.epoch, width: t.widths[i], generator: g })));
    const figures = await writeChart(
      lineChart({
        title: "Olivetti: learned widths per generator",
        caption: runCaption("olivetti", opts),
        x: "epoch",
        y: "width",
        xTitle: "epoch",
        yTitle: "width (rad for rotation; coefficient range for the others)",
        series: "generator",
        rows,
      }),
      join(opts.out, "width-trajectories"),
    );
    const others = widths.filter((_, i) => i !== 2);
    return {
      config: { ...cfg, seed: opts.seed, quick: opts.quick, backend: opts.backend },
      metrics: { rotationWidth: widths[2], maxOtherWidth: Math.max(...others), testMse, testRmseRad: Math.sqrt(testMse) },
      widths,
      trajectory,
      targets: [
        { name: "rotation width", value: widths[2], target: "< 0.05 rad", met: widths[2] < 0.05 },
        { name: "largest other width", value: Math.max(...others), target: "< 0.1", met: Math.max(...others) < 0.1 },
      ],
      paper: [
        { quantity: "rotation width (rad)", paper: "~1 -> 0.003", ours: `${cfg.initRotation} -> ${widths[2].toFixed(4)}` },
        { quantity: "other widths", paper: "< 0.1", ours: others.map((w) => w.toFixed(3)).join(", ") },
        { quantity: "test RMSE of the angle (rad)", paper: "(not reported)", ours: Math.sqrt(testMse).toFixed(3) },
      ],
      figures: figures.map((f) => f.slice(opts.out.length + 1)),
      seconds: (Date.now() - t0) / 1000,
    };
  },
};

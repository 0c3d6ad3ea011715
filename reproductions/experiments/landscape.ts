/**
 * The loss landscape over the rotation width (paper sec. 5, Fig. 5b) on Mario-Iggy: for a
 * trained network, the augmented loss as a function of the rotation width, with and
 * without the regulariser, and its derivative taken with `grad` (through softplus).
 */
import { join } from "node:path";
import { np, random, valueAndGrad, jit, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import { MARIO_IGGY, marioIggy, yieldToEventLoop } from "../datasets/index.ts";
import type { Experiment, ExperimentResult, RunOpts } from "../experiment.ts";
import { lineChart, runCaption, writeChart } from "../figures.ts";
import { applyOf, trainAugerino, hyperparams } from "../train.ts";
import { Progress } from "../progress.ts";
import { marioConfig, marioNet } from "./mario-iggy.ts";
import { withOverrides } from "../config-overrides.ts";

/** Mario-Iggy's training, then the widths to evaluate and the batch that evaluates them. */
function landscapeConfig(quick: boolean, epochs?: number) {
  return { ...marioConfig(quick, epochs), points: quick ? 13 : 33, evalN: quick ? 256 : 1000, copies: quick ? 4 : 8 };
}

export const landscapeExperiment: Experiment = {
  name: "landscape",
  summary: "Fig. 5b: loss and its derivative vs rotation width on Mario-Iggy, with and without the regulariser",
  datasets: [MARIO_IGGY],
  config: landscapeConfig,
  async run(opts: RunOpts): Promise<ExperimentResult> {
    const t0 = Date.now();
    const cfg = withOverrides(landscapeConfig(opts.quick, opts.epochs), opts.set);
    const data = await marioIggy({ seed: opts.seed, nTrain: cfg.nTrain, nTest: cfg.nTest });
    const net = marioNet(cfg.k);
    const apply = applyOf(net);
    const init = [cfg.otherInitWidth, cfg.otherInitWidth, Math.PI / 2, cfg.otherInitWidth, cfg.otherInitWidth, cfg.otherInitWidth];
    const dist = aug.uniformAffine({ initWidth: init, trainable: [false, false, true, false, false, false] });
    const res = await trainAugerino({
      net,
      dist,
      task: "ce",
      data: data.train,
      ...hyperparams(cfg),
      seed: opts.seed,
      checkpointDir: join(opts.out, "checkpoint"),
      label: "landscape (training)",
      quiet: opts.quiet,
    });
    const trained = res.params.theta;
    const x = data.train.x.slice([0, cfg.evalN]);
    const y = data.train.y.slice([0, cfg.evalN]);
    const key = random.key(opts.seed + 17);
    // The loss as a function of the raw rotation parameter, other widths as trained; common random numbers across widths.
    const lossAt = (raw: Tracer, lambda: number) => {
      const theta = np.concatenate([trained.slice([0, 2]), raw.reshape([1]), trained.slice([3, 6])]);
      return aug.loss(apply, { w: res.params.w, theta }, key, x, y, { dist, nCopies: cfg.copies, lambda, reg: cfg.reg });
    };
    const valueAndSlope = jit((raw: Tracer, lambda: Tracer) => {
      const l = (r: Tracer) => lossAt(r, 0).sub(aug.regularizer(dist, np.concatenate([trained.slice([0, 2]), r.reshape([1]), trained.slice([3, 6])]), cfg.reg).mul(lambda));
      // d/dwidth = d/draw / softplus'(raw), and softplus' = sigmoid.
      const [loss, g] = valueAndGrad(l)(raw);
      return { loss, slope: g.div(np.sigmoid(raw)) };
    });
    const rows: { width: number; value: number; curve: string }[] = [];
    const widths = Array.from({ length: cfg.points }, (_, i) => 0.05 + ((2 * Math.PI - 0.05) * i) / (cfg.points - 1));
    const curves: Record<string, { w: number; loss: number; slope: number }[]> = { "no regulariser": [], regularised: [] };
    const progress = new Progress("landscape (sweep)", widths.length, opts.quiet);
    for (const [wi, w] of widths.entries()) {
      const raw = np.array(aug.inverseSoftplus(w));
      const runs = (
        [
          ["no regulariser", 0],
          ["regularised", cfg.lambda],
        ] as const
      ).map(([name, lambda]) => ({ name, out: valueAndSlope(raw, np.array(lambda)) }));
      // The four values of this width read together (one round trip on webgpu).
      const vals = await Promise.all(runs.flatMap(({ out }) => [out.loss.data(), out.slope.data()]));
      for (const [i, { name }] of runs.entries()) {
        const l = vals[2 * i][0];
        const s = vals[2 * i + 1][0];
        curves[name].push({ w, loss: l, slope: s });
        rows.push({ width: w, value: l, curve: `loss (${name})` }, { width: w, value: s, curve: `d loss / d width (${name})` });
      }
      progress.update(wi + 1, `width ${w.toFixed(2)} loss ${curves["no regulariser"][wi].loss.toFixed(4)}`);
      await yieldToEventLoop();
    }
    progress.done();
    const figures = [
      ...(await writeChart(
        lineChart({
          title: "Loss vs rotation width (Mario-Iggy)",
          caption: runCaption("landscape", opts),
          x: "width",
          y: "value",
          xTitle: "rotation width (rad)",
          yTitle: "loss (cross-entropy, nats)",
          series: "curve",
          rows: rows.filter((r) => r.curve.startsWith("loss")),
        }),
        join(opts.out, "loss-vs-width"),
      )),
      ...(await writeChart(
        lineChart({
          title: "Derivative of the loss w.r.t. rotation width (by grad)",
          caption: runCaption("landscape", opts),
          x: "width",
          y: "value",
          xTitle: "rotation width (rad)",
          yTitle: "d loss / d width (nats per rad)",
          series: "curve",
          rows: rows.filter((r) => r.curve.startsWith("d ")),
        }),
        join(opts.out, "slope-vs-width"),
      )),
    ];
    const plain = curves["no regulariser"];
    const flat = plain.filter((c) => c.w <= Math.PI / 2);
    const beyond = plain.filter((c) => c.w >= Math.PI);
    const flatRange = Math.max(...flat.map((c) => c.loss)) - Math.min(...flat.map((c) => c.loss));
    const rise = Math.min(...beyond.map((c) => c.loss)) - Math.max(...flat.map((c) => c.loss));
    return {
      config: { ...cfg, seed: opts.seed, quick: opts.quick, backend: opts.backend },
      metrics: { flatRange, riseBeyondPi: rise, lossAtPiOver2: flat[flat.length - 1].loss, lossAt2Pi: plain[plain.length - 1].loss },
      widths: [...res.history[res.history.length - 1].widths],
      trajectory: { training: res.history.map((h) => ({ epoch: h.epoch, widths: h.widths })) },
      targets: [
        { name: "loss range on [0, pi/2]", value: flatRange, target: "< rise beyond pi", met: flatRange < rise },
        { name: "rise of the loss beyond pi", value: rise, target: "> 0", met: rise > 0 },
      ],
      paper: [
        {
          quantity: "loss vs rotation width",
          paper: "flat on [0, pi/2], rising beyond",
          ours: `range ${flatRange.toFixed(4)} on [0, pi/2]; min beyond pi exceeds max on [0, pi/2] by ${rise.toFixed(4)}`,
        },
      ],
      figures: figures.map((f) => f.slice(opts.out.length + 1)),
      seconds: (Date.now() - t0) / 1000,
    };
  },
};

/**
 * One Augerino train step: smallConv(k=32) on 28x28 inputs, batch 64, 4 augmented copies
 * (uniform affine warps), forward, backward to the network and the augmentation widths,
 * and an Adam update, jitted. Dropout is off (rate 0) so every library does the same
 * deterministic work; batch norm uses per-copy batch statistics (training mode).
 */
import { np, random, jit, valueAndGrad, type Tracer } from "../../index.ts";
import * as nn from "../../nn/index.ts";
import * as optim from "../../optim/index.ts";
import * as aug from "../../augerino/index.ts";
import { uniform, type Impl, type Workload } from "../harness.ts";

const p = { batch: 64, copies: 4, k: 32, h: 28, w: 28, classes: 10 };

/** The convolutions of smallConv as [cin, cout, spatial size]; a 2x2 max pool follows the 3rd and 4th. */
export const smallConvLayers = (k: number): [number, number, number][] => [
  [1, k, 28],
  [k, k, 28],
  [k, 2 * k, 28],
  [2 * k, 2 * k, 14],
  [2 * k, 2 * k, 7],
];

// Forward convolution FLOPs times 3 (forward, dx, dw); the warp, batch norm and head add under 1%.
const flops = 3 * smallConvLayers(p.k).reduce((s, [ci, co, hw]) => s + 2 * p.batch * p.copies * hw * hw * ci * co * 9, 0);

/** Raw Augerino parameters of the reference rotMNIST run: softplus gives widths [0.007 x2, 1.31, 0.007 x3]. */
export const THETA_INIT = [-5, -5, 1, -5, -5, -5];
export const LR = 1e-3;

export const trainWorkload: Workload = {
  id: "augerino-step",
  kind: "train",
  title: "Augerino step smallConv k=32, 64x4 copies",
  params: p,
  work: { amount: flops, unit: "GFLOP/s" },
  checkLabel: "loss",
  inputs: () => ({
    x: uniform(p.batch * p.h * p.w, 9, 0, 1),
    y: Int32Array.from(uniform(p.batch, 10, 0, p.classes), Math.floor),
  }),
};

export const oursTrain: Impl = (_w, i) => {
  const net = nn.models.smallConv({ k: p.k, inChannels: 1, numClasses: p.classes, dropout: 0 });
  const init = net.init(random.key(0), [1, 1, p.h, p.w]);
  // Training-mode batch norm; its running averages are not part of the benchmark.
  const apply = (w: unknown, x: Tracer) => net.apply(w, init.state, x, { train: true }).y;
  const dist = aug.uniformAffine({ initRaw: THETA_INIT });
  const tx = optim.adam({ lr: LR });
  let params = { w: init.params, theta: dist.init() };
  let state = tx.init(params);
  const x = np.array(i.x).reshape([p.batch, 1, p.h, p.w]);
  const y = np.array(i.y);
  const step = jit((params: typeof init.params, state: typeof init.params, key: Tracer, x: Tracer, y: Tracer) => {
    const [loss, g] = valueAndGrad((q: typeof params) => aug.loss(apply, q, key, x, y, { dist, nCopies: p.copies, lambda: 0.01 }))(params);
    const { updates, state: next } = tx.update(g, state, params);
    return { params: optim.applyUpdates(params, updates), state: next, loss };
  });
  let n = 0;
  let loss = NaN;
  return {
    // Async: WebGPU in a browser reads only asynchronously (bench/browser/ runs this there too).
    async run() {
      const out = step(params, state, random.key(n++), x, y);
      params = out.params;
      state = out.state;
      loss = (await out.loss.data())[0];
    },
    check: () => loss,
  };
};

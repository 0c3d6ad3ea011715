/**
 * One Adam update (PyTorch's defaults: b1 0.9, b2 0.999, eps 1e-8) of a parameter set shaped
 * like smallConv k=128's: per convolution its weights, bias, batch norm scale and shift, then
 * the linear head; 1.6 M parameters, so the update streams about 46 MB from memory. Each call
 * updates the parameters and moments of the previous one, as a training loop does.
 */
import { np, jit, type Tracer } from "../../index.ts";
import * as optim from "../../optim/index.ts";
import { uniform, type Impl, type Workload } from "../harness.ts";
import { smallConvLayers, LR } from "./train.ts";

const k = 128;
const classes = 10;

/** The parameter tensors' sizes, in the order both libraries build them. */
export function adamLeafSizes(): number[] {
  const sizes = smallConvLayers(k).flatMap(([ci, co]) => [co * ci * 9, co, co, co]);
  return [...sizes, 2 * k * classes, classes];
}
const total = adamLeafSizes().reduce((a, b) => a + b, 0);

export const adamWorkload: Workload = {
  id: "adam",
  kind: "adam",
  title: `Adam update, ${(total / 1e6).toFixed(2)} M params (smallConv k=${k})`,
  params: { k, lr: LR, total },
  // Read the parameters, the gradients and both moments; write the parameters and both moments.
  work: { amount: 4 * 7 * total, unit: "GB/s" },
  // The parameters drift by a different number of steps in each library (repetitions follow the time taken).
  checkLabel: "mean |p|",
  inputs: () => ({ p: uniform(total, 16), g: uniform(total, 17) }),
};

/** The flat array cut into the leaves' sizes. */
export function leaves(flat: Float32Array): Float32Array[] {
  let at = 0;
  return adamLeafSizes().map((n) => flat.subarray(at, (at += n)));
}

export const oursAdam: Impl = (_w, i) => {
  const tx = optim.adam({ lr: LR });
  let params = leaves(i.p as Float32Array).map((a) => np.array(a));
  const grads = leaves(i.g as Float32Array).map((a) => np.array(a));
  let state = tx.init(params);
  const step = jit((params: Tracer[], state: optim.OptState, grads: Tracer[]) => {
    const { updates, state: next } = tx.update(grads, state, params);
    return { params: optim.applyUpdates(params, updates) as Tracer[], state: next };
  });
  return {
    run: () => {
      ({ params, state } = step(params, state, grads));
    },
    check: () => {
      let s = 0;
      for (const p of params) for (const v of p.dataSync()) s += Math.abs(v);
      return s / total;
    },
  };
};

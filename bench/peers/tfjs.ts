/**
 * TensorFlow.js 4.22 with its pure-JS "cpu" backend and its "wasm" backend (XNNPACK, SIMD;
 * single-threaded here: the threaded build needs a global Worker, which Node lacks). One
 * module serves both; `activate` switches the global backend before each cell. Layouts are
 * TF's: NHWC images, HWIO filters (converted outside the timed region).
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { meanAbs, nchwToNhwc, oihwToHwio, type Impl, type Library, type Skip } from "../harness.ts";
import { CHAIN_A, CHAIN_B } from "../workloads/elementwise.ts";
import { tfConv2d, tfGridSample, tfTrain, type Tf } from "./tfjs-train.ts";

let loading: Promise<Tf> | undefined;

/** Imports TF.js once, hiding its "install tfjs-node" banner so stdout stays a clean table. */
function loadTf(): Promise<Tf> {
  loading ??= (async () => {
    const warn = console.warn;
    const log = console.log;
    console.warn = console.log = () => {};
    try {
      const tf = await import("@tensorflow/tfjs");
      // The banner prints on the first kernel run, so run one while muted.
      await tf.ready();
      tf.tensor1d([1]).add(1).dataSync();
      return tf;
    } finally {
      console.warn = warn;
      console.log = log;
    }
  })();
  return loading;
}

async function useBackend(tf: Tf, name: string): Promise<void> {
  if (tf.getBackend() === name) return;
  if (!(await tf.setBackend(name))) throw new Error(`TF.js backend "${name}" failed to initialise`);
  await tf.ready();
}

function impls(tf: Tf, backend: "cpu" | "wasm"): Library["impls"] {
  const keep = (t: { dispose(): void } | undefined, next: typeof t) => (t?.dispose(), next);
  const matmul: Impl = (w, i) => {
    const a = tf.tensor2d(i.a as Float32Array, [w.params.n, w.params.n]);
    const b = tf.tensor2d(i.b as Float32Array, [w.params.n, w.params.n]);
    let out = tf.matMul(a, b);
    return { run: () => (out = keep(out, tf.matMul(a, b)) as typeof out), check: () => meanAbs(out.dataSync()), dispose: () => tf.dispose([a, b, out]) };
  };
  const convArrays = (q: Record<string, number>, i: Record<string, Float32Array | Int32Array>) => ({
    x: tf.tensor4d(nchwToNhwc(i.x as Float32Array, [q.n, q.cin, q.h, q.w]), [q.n, q.h, q.w, q.cin]),
    w: tf.tensor4d(oihwToHwio(i.w as Float32Array, [q.cout, q.cin, q.k, q.k]), [q.k, q.k, q.cin, q.cout]),
    g: tf.tensor4d(nchwToNhwc(i.g as Float32Array, [q.n, q.cout, q.h, q.w]), [q.n, q.h, q.w, q.cout]),
  });
  const conv: Impl = (w, i) => {
    const { x, w: f, g } = convArrays(w.params, i);
    let y = tf.conv2d(x, f, 1, "same");
    return { run: () => (y = keep(y, tf.conv2d(x, f, 1, "same")) as typeof y), check: () => meanAbs(y.dataSync()), dispose: () => tf.dispose([x, f, g, y]) };
  };
  const convGrad: Impl = (w, i) => {
    const { x, w: f, g } = convArrays(w.params, i);
    const conv2d = tfConv2d(tf, backend);
    const grads = tf.grads((x, f) => tf.sum(tf.mul(conv2d(x as never, f as never), g)));
    let out = grads([x, f]);
    return { run: () => (tf.dispose(out), (out = grads([x, f]))), check: () => meanAbs(out[1].dataSync()), dispose: () => tf.dispose([x, f, g, ...out]) };
  };
  const chain: Impl = (_w, i) => {
    const x = tf.tensor1d(i.x as Float32Array);
    const f = () => tf.tidy(() => tf.sub(tf.mul(tf.tanh(tf.add(tf.mul(x, CHAIN_A), CHAIN_B)), tf.sigmoid(x)), 0.5));
    let y = f();
    return { run: () => (y = keep(y, f()) as typeof y), check: () => meanAbs(y.dataSync()), dispose: () => tf.dispose([x, y]) };
  };
  const gridSample: Impl = (w, i) => {
    const q = w.params;
    const x = tf.tensor4d(nchwToNhwc(i.x as Float32Array, [q.n, q.c, q.h, q.w]), [q.n, q.h, q.w, q.c]);
    const grid = tf.tensor4d(i.grid as Float32Array, [q.n, q.h, q.w, 2]);
    const f = () => tf.tidy(() => tfGridSample(tf, x, grid));
    let y = f();
    return { run: () => (y = keep(y, f()) as typeof y), check: () => meanAbs(y.dataSync()), dispose: () => tf.dispose([x, grid, y]) };
  };
  const train: Impl = (w, i) => tfTrain(tf, backend, w, i);
  // Measured here once: one call of TF.js cpu's conv2d backward (Conv2DBackpropFilter in JS) took 184-367 s.
  const tooSlow = (impl: Impl, what: string): Skip => ({ skip: `too slow for the default run: ${what} (--slow runs it)`, slow: impl });
  return backend === "cpu"
    ? {
        matmul,
        conv,
        convGrad: tooSlow(convGrad, "one call took 184-367 s when measured"),
        chain,
        gridSample,
        train: tooSlow(train, "its 15 backward convolutions run through the same JS Conv2DBackpropFilter"),
      }
    : { matmul, conv, convGrad, chain, gridSample, train };
}

export const tfjsCpu = {
  name: "tfjs 4.22 cpu",
  async load(): Promise<Library> {
    const tf = await loadTf();
    await useBackend(tf, "cpu");
    return { name: `tfjs ${tf.version.tfjs} cpu`, note: "TF.js cpu backend: plain JS kernels, eager (no fusion).", activate: () => useBackend(tf, "cpu"), impls: impls(tf, "cpu") };
  },
};

export const tfjsWasm = {
  name: "tfjs-backend-wasm 4.22",
  async load(): Promise<Library> {
    const tf = await loadTf();
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    // The .wasm files sit next to the package's dist entry; without this path Node looks in the cwd.
    const dir = dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
    wasm.setWasmPaths(`${dir}/`);
    await useBackend(tf, "wasm");
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    return {
      name: `tfjs ${tf.version.tfjs} wasm`,
      note: `TF.js wasm backend (SIMD ${simd ? "on" : "off"}, threads ${threads ? "on" : "off"}). It registers no Conv2DBackpropFilter kernel, so the filter gradient is written with its own primitives: a conv2d of the transposed, padded input with the transposed output gradient (tf.customGrad).`,
      activate: () => useBackend(tf, "wasm"),
      impls: impls(tf, "wasm"),
    };
  },
};

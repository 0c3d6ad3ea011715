/**
 * Our library on WebGPU (`npm run bench -- --backend webgpu`): matmul, the conv forward and
 * the jitted (fused) chain, with inputs created on the webgpu backend. A timed call ends
 * when one element of the result has been read back (`await out.reshape([-1]).slice([0, 1])
 * .data()`): the read is queued after the work, so it waits for all of it, while copying
 * 4 bytes instead of the whole output (which would add up to 16 MB of readback to the
 * 4M chain). The check reads the full output once.
 */
import { np, lax, jit, type Tracer } from "../../index.ts";
import type { NDArray } from "../../core/array.ts";
import { meanAbs, type Impl, type Library } from "../harness.ts";
import { CHAIN_A, CHAIN_B } from "./elementwise.ts";

/** The workloads of the webgpu comparison (ids). */
export const WEBGPU_WORKLOADS = ["matmul-256", "matmul-512", "matmul-1024", "conv-fwd", "chain-4M"];

const NOT_IN_SET = "not in the webgpu set (matmul, conv forward, chain)";
const opts = { backend: "webgpu" } as const;

/** Waits for `t` by reading one of its elements. */
const ready = async (t: Tracer) => {
  await (np.reshape(t, [-1]).slice([0, 1]) as NDArray).data();
};

/** A prepared call whose output replaces (and frees) the previous one. */
function timed(f: () => Tracer): { run(): Promise<void>; check(): Promise<number> } {
  let out: Tracer | null = null;
  return {
    run: async () => {
      out?.dispose();
      out = f();
      await ready(out);
    },
    check: async () => meanAbs(await (out as NDArray).data()),
  };
}

const matmul: Impl = (w, { a, b }) => {
  const { n } = w.params;
  const x = np.array(a, opts).reshape([n, n]);
  const y = np.array(b, opts).reshape([n, n]);
  return timed(() => np.matmul(x, y));
};

const conv: Impl = (w, i) => {
  const q = w.params;
  const x = np.array(i.x, opts).reshape([q.n, q.cin, q.h, q.w]);
  const k = np.array(i.w, opts).reshape([q.cout, q.cin, q.k, q.k]);
  return timed(() => lax.conv(x, k, { padding: "SAME" }));
};

const chain: Impl = (_w, { x }) => {
  const xs = np.array(x, opts);
  const f = jit((x: Tracer) => np.tanh(x.mul(CHAIN_A).add(CHAIN_B)).mul(np.sigmoid(x)).sub(0.5));
  return timed(() => f(xs) as Tracer);
};

export const oursWebgpu = (): Library => ({
  name: "augerino (webgpu)",
  note: "WebGPU through Dawn (lavapipe on a CPU-only machine); matmul and conv run the tiled product kernels, jit fuses the chain; a timed call ends after reading one element of the result.",
  impls: { matmul, conv, chain, convGrad: { skip: NOT_IN_SET }, gridSample: { skip: NOT_IN_SET }, train: { skip: NOT_IN_SET } },
});

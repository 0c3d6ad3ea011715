/**
 * jax-js (@jax-js/jax) on its "webgpu" backend, in the same process and on the same Dawn
 * instance as our WebGPU backend (on a CPU-only machine both run on lavapipe). jax-js looks
 * for `navigator.gpu`, which Node lacks: it gets the `gpu` object our backend holds (our
 * backend must have started first). Timed calls end with jax-js's `blockUntilReady`.
 */
import { readFileSync } from "node:fs";
import { getBackend } from "../../index.ts";
import type { Impl, Library } from "../harness.ts";
import { CHAIN_A, CHAIN_B } from "../workloads/elementwise.ts";
import { jaxTimed, type Jax, type JArray } from "./jaxjs-train.ts";

const NOT_IN_SET = "not in the webgpu set (matmul, conv forward, chain)";

export const jaxJsWebgpu = {
  name: "jax-js webgpu",
  async load(): Promise<Library> {
    const gpu = (getBackend("webgpu") as unknown as { ctx: { gpu: unknown } }).ctx.gpu;
    const g = globalThis as { navigator?: unknown };
    // Node 21+ has a navigator without gpu; Node 20 has none. jax-js reads gpu and hardwareConcurrency.
    Object.defineProperty(globalThis, "navigator", { value: { ...(g.navigator ?? {}), gpu, userAgent: "node", hardwareConcurrency: 2 }, configurable: true, writable: true });
    const jax: Jax = await import("@jax-js/jax");
    const { numpy: np, lax, nn, jit } = jax;
    const got = await jax.init("webgpu");
    if (!got.includes("webgpu")) throw new Error(`jax-js init("webgpu") gave [${got}]`);
    jax.defaultDevice("webgpu");
    const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.resolve("@jax-js/jax")), "utf8")).version;
    const timed = (f: () => JArray) => jaxTimed(jax, f);
    const arr = (d: Float32Array | Int32Array, shape: number[]) => np.array(d as Float32Array).reshape(shape);
    const matmul: Impl = (w, i) => {
      const [a, b] = [arr(i.a, [w.params.n, w.params.n]), arr(i.b, [w.params.n, w.params.n])];
      return timed(() => np.matmul(a.ref, b.ref));
    };
    const conv: Impl = (w, i) => {
      const q = w.params;
      const [x, f] = [arr(i.x, [q.n, q.cin, q.h, q.w]), arr(i.w, [q.cout, q.cin, q.k, q.k])];
      return timed(() => lax.conv(x.ref, f.ref, [1, 1], "SAME"));
    };
    const chain: Impl = (_w, i) => {
      const x = np.array(i.x as Float32Array);
      const f = jit((x: JArray) => np.tanh(x.ref.mul(CHAIN_A).add(CHAIN_B)).mul(nn.sigmoid(x)).sub(0.5));
      return timed(() => f(x.ref));
    };
    return {
      name: `jax-js ${version} webgpu`,
      note: "jax-js webgpu backend on the same Dawn instance (navigator.gpu = our backend's gpu object); a timed call ends at blockUntilReady.",
      impls: { matmul, conv, chain, convGrad: { skip: NOT_IN_SET }, gridSample: { skip: NOT_IN_SET }, train: { skip: NOT_IN_SET } },
    };
  },
};

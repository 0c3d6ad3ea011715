/**
 * jax-js (@jax-js/jax) on its "wasm" backend: kernels generated as WebAssembly from its
 * tinygrad-style IR. In Node there is no global Worker, so it runs single-threaded.
 * jax-js counts references by hand: every call consumes its arguments, so arrays used
 * again are passed as `x.ref`.
 */
import { readFileSync } from "node:fs";
import { meanAbs, type Impl, type Library } from "../harness.ts";
import { CHAIN_A, CHAIN_B } from "../workloads/elementwise.ts";
import { jaxGridSample, jaxTrain, type Jax, type JArray } from "./jaxjs-train.ts";

export const jaxJs = {
  name: "jax-js wasm",
  async load(): Promise<Library> {
    const jax: Jax = await import("@jax-js/jax");
    const { numpy: np, lax, nn, jit, grad, blockUntilReady } = jax;
    const got = await jax.init("wasm");
    if (!got.includes("wasm")) throw new Error(`jax-js init("wasm") gave [${got}]`);
    jax.defaultDevice("wasm");
    // The package exports no package.json; read it beside the resolved entry (dist/index.js).
    const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.resolve("@jax-js/jax")), "utf8")).version;
    // Each run keeps its output for the check, freeing the previous one.
    const timed = (f: () => JArray | JArray[], pick = (o: JArray[]) => o[0]) => {
      let out: JArray[] = [];
      return {
        run: async () => {
          for (const o of out) o.dispose();
          const r = f();
          out = Array.isArray(r) ? r : [r];
          await blockUntilReady(out);
        },
        check: async () => meanAbs(await pick(out).ref.data()),
      };
    };
    const arr = (d: Float32Array | Int32Array, shape: number[]) => np.array(d as Float32Array).reshape(shape);
    const matmul: Impl = (w, i) => {
      const [a, b] = [arr(i.a, [w.params.n, w.params.n]), arr(i.b, [w.params.n, w.params.n])];
      return timed(() => np.matmul(a.ref, b.ref));
    };
    const convArrays = (q: Record<string, number>, i: Record<string, Float32Array | Int32Array>) => [
      arr(i.x, [q.n, q.cin, q.h, q.w]),
      arr(i.w, [q.cout, q.cin, q.k, q.k]),
      arr(i.g, [q.n, q.cout, q.h, q.w]),
    ];
    const conv: Impl = (w, i) => {
      const [x, f] = convArrays(w.params, i);
      return timed(() => lax.conv(x.ref, f.ref, [1, 1], "SAME"));
    };
    const convGrad: Impl = (w, i) => {
      const [x, f, g] = convArrays(w.params, i);
      const step = jit(grad((x: JArray, f: JArray, g: JArray) => np.sum(lax.conv(x, f, [1, 1], "SAME").mul(g)), { argnums: [0, 1] }));
      return timed(
        () => step(x.ref, f.ref, g.ref) as JArray[],
        (o) => o[1],
      );
    };
    const chain: Impl = (_w, i) => {
      const x = np.array(i.x as Float32Array);
      const f = jit((x: JArray) => np.tanh(x.ref.mul(CHAIN_A).add(CHAIN_B)).mul(nn.sigmoid(x)).sub(0.5));
      return timed(() => f(x.ref));
    };
    const gridSample: Impl = (w, i) => {
      const q = w.params;
      const [x, g] = [arr(i.x, [q.n, q.c, q.h, q.w]), arr(i.grid, [q.n, q.h, q.w, 2])];
      const f = jit((x: JArray, g: JArray) => jaxGridSample(jax, x, g));
      return timed(() => f(x.ref, g.ref));
    };
    const train: Impl = (w, i) => jaxTrain(jax, w, i);
    return {
      name: `jax-js ${version} wasm`,
      note: `jax-js wasm backend, single-threaded (typeof Worker in Node: ${typeof (globalThis as { Worker?: unknown }).Worker}); jit fuses elementwise chains.`,
      // Measured here once: the first call of the step (trace, compile, run) was still running after 8 minutes.
      impls: {
        matmul,
        conv,
        convGrad,
        chain,
        gridSample,
        train: { skip: "too slow for the default run: its first call (trace, compile, run) was still running after 8 min when measured (--slow runs it)", slow: train },
      },
    };
  },
};

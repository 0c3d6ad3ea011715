/**
 * The page side of the browser benchmark (bench/browser/run.ts bundles it): our CPU and
 * WebGPU backends beside jax-js's browser build (wasm and webgpu) on matmul 1024, the conv
 * forward, the fused chain and the Augerino step, timed with bench/harness.ts's `measure`
 * (the same warm-up and repetition rule as in Node). Results go to `window.benchResult`;
 * `?lib=NAME` runs one library (the runner gives each its own page, so a crash costs one),
 * `?rows=ID,ID` only those workloads.
 */
import { getBackend, initBackend, setDefaultBackend } from "../../index.ts";
import type { WebGpuBackend } from "../../core/backends/webgpu/index.ts";
import { preferredStrategy } from "../../core/backends/webgpu/kernels/dot.ts";
import { measure, type Impl, type Inputs, type Workload } from "../harness.ts";
import { matmulWorkloads, oursMatmul } from "../workloads/matmul.ts";
import { convWorkloads, oursConv } from "../workloads/conv.ts";
import { chainWorkload, oursChain, CHAIN_A, CHAIN_B } from "../workloads/elementwise.ts";
import { oursTrain, trainWorkload } from "../workloads/train.ts";
import { oursWebgpu } from "../workloads/webgpu.ts";
import { jaxTimed, jaxTrain, type Jax, type JArray } from "../peers/jaxjs-train.ts";
import * as jaxModule from "@jax-js/jax";
import type { Row } from "./row.ts";
import { wasmKernelStats } from "../../core/backends/cpu/wasm/kernels.ts";
import { startWorkers, workerBlockCount } from "../../core/backends/cpu/wasm/pool.ts";

const WORKLOADS: Workload[] = [...matmulWorkloads([1024]), convWorkloads.find((w) => w.id === "conv-fwd")!, chainWorkload, trainWorkload];

interface PageLibrary {
  name: string;
  setup(): Promise<void>;
  impls: Partial<Record<Workload["kind"], Impl>>;
}

/** jax-js on one of its devices; every call consumes its arguments, so reused arrays go as `.ref`. */
function jaxLibrary(device: "wasm" | "webgpu"): PageLibrary {
  const jax = jaxModule as unknown as Jax;
  const { numpy: np, lax, nn, jit } = jax;
  const timed = (f: () => JArray) => jaxTimed(jax, f);
  const arr = (d: Float32Array | Int32Array, shape: number[]) => np.array(d as Float32Array).reshape(shape);
  return {
    name: `jax-js ${device}`,
    async setup() {
      const got = await jax.init(device);
      if (!got.includes(device)) throw new Error(`jax-js init("${device}") gave [${got}]`);
      jax.defaultDevice(device);
    },
    impls: {
      matmul: (w, i) => {
        const [a, b] = [arr(i.a, [w.params.n, w.params.n]), arr(i.b, [w.params.n, w.params.n])];
        return timed(() => np.matmul(a.ref, b.ref));
      },
      conv: (w, i) => {
        const q = w.params;
        const [x, f] = [arr(i.x, [q.n, q.cin, q.h, q.w]), arr(i.w, [q.cout, q.cin, q.k, q.k])];
        return timed(() => lax.conv(x.ref, f.ref, [1, 1], "SAME"));
      },
      chain: (_w, i) => {
        const x = np.array(i.x as Float32Array);
        const f = jit((x: JArray) => np.tanh(x.ref.mul(CHAIN_A).add(CHAIN_B)).mul(nn.sigmoid(x)).sub(0.5));
        return timed(() => f(x.ref));
      },
      train: (w, i: Inputs) => jaxTrain(jax, w, i),
    },
  };
}

const webgpuImpls = oursWebgpu().impls;
const LIBRARIES: PageLibrary[] = [
  {
    name: "augerino cpu",
    setup: async () => {
      setDefaultBackend("cpu");
      // The Web Workers start asynchronously; without this the first timed calls run on the page's thread alone.
      await startWorkers();
    },
    impls: { matmul: oursMatmul, conv: oursConv, chain: oursChain, train: oursTrain },
  },
  {
    name: "augerino webgpu",
    setup: async () => {
      const t0 = performance.now();
      await initBackend("webgpu");
      const be = getBackend("webgpu") as unknown as WebGpuBackend;
      const how = be.tuning ? `timed at start in ${(performance.now() - t0).toFixed(0)} ms: ${JSON.stringify(be.tuning.ms)}` : "by the adapter's description";
      console.log(`augerino webgpu: product kernel ${preferredStrategy()}, ${how}`);
    },
    impls: {
      matmul: webgpuImpls.matmul as Impl,
      conv: webgpuImpls.conv as Impl,
      chain: webgpuImpls.chain as Impl,
      // The step's arrays start on the default backend, so it is switched for this cell.
      train: (w, i) => {
        setDefaultBackend("webgpu");
        try {
          return oursTrain(w, i);
        } finally {
          setDefaultBackend("cpu");
        }
      },
    },
  },
  jaxLibrary("wasm"),
  jaxLibrary("webgpu"),
];

// harness.ts yields with setImmediate between calls; a page has none.
(globalThis as { setImmediate?: unknown }).setImmediate ??= (f: () => void) => setTimeout(f, 0);

async function runAll(budgetMs: number, only: string | null, rowIds: string[] | null): Promise<Row[]> {
  const rows: Row[] = [];
  for (const lib of LIBRARIES.filter((l) => only === null || l.name === only)) {
    let setupError: string | null = null;
    await lib.setup().catch((e: Error) => (setupError = e.message));
    for (const w of WORKLOADS.filter((w) => rowIds === null || rowIds.includes(w.id))) {
      const impl = lib.impls[w.kind];
      if (setupError || !impl) {
        rows.push({ workload: w.id, library: lib.name, error: setupError ?? "not implemented" });
        continue;
      }
      try {
        const prepared = await impl(w, w.inputs());
        const [runs, threaded, blocks] = [wasmKernelStats.runs, wasmKernelStats.threaded, workerBlockCount()];
        const s = await measure(() => prepared.run(), { budgetMs });
        const kernels = lib.name === "augerino cpu" ? { threaded: `${wasmKernelStats.threaded - threaded}/${wasmKernelStats.runs - runs}, ${workerBlockCount() - blocks} blocks by workers` } : {};
        rows.push({ workload: w.id, library: lib.name, medianMs: s.median, q1: s.q1, q3: s.q3, reps: s.reps, firstMs: s.firstMs, ...kernels });
        if (lib.name === "augerino webgpu") setDefaultBackend("cpu");
      } catch (e) {
        rows.push({ workload: w.id, library: lib.name, error: (e as Error).message.split("\n")[0] });
      }
      console.log(JSON.stringify(rows[rows.length - 1]));
    }
  }
  return rows;
}

const page = globalThis as unknown as { location: { search: string }; navigator: { userAgent: string; hardwareConcurrency: number }; crossOriginIsolated: boolean; benchResult?: unknown };
const query = new URLSearchParams(page.location.search);
page.benchResult = runAll(Number(query.get("budget") ?? 1500), query.get("lib"), query.get("rows")?.split(",") ?? null).then(
  (rows) => ({ rows, userAgent: page.navigator.userAgent, threads: page.navigator.hardwareConcurrency, isolated: page.crossOriginIsolated }),
  (e: Error) => ({ error: e.message }),
);

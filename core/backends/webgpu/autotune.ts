/**
 * The product kernel chosen by timing, for adapters that do not say what they are. dot.ts's
 * rule (software adapters take register blocks, GPUs workgroup-memory tiles) needs the
 * adapter to name itself; in a page Chromium's compatibility adapter (ANGLE on lavapipe)
 * reports empty vendor, architecture, device and description and no fallback flag, and the
 * rule's GPU guess there ran matmul 1024 at half the speed of register blocks. Such a
 * backend times each product kernel it can run, once, at start, on one small product, and
 * keeps the fastest for every dot and convolution. The choice is cached per adapter (its
 * info, features and limits), so a backend started again in the same page does not time again,
 * and in a browser also kept in the origin's localStorage (under `augerino:webgpu-products:`
 * and the key), so the next page load on the same browser and adapter does not either; remove
 * those entries to time again.
 */
import type { ShapedArray } from "../../tracer.ts";
import type { GpuContext } from "./device.ts";
import type { GpuBuffer, WebGpuBackend } from "./index.ts";
import { dotProgram, type DotStrategy } from "./kernels/dot.ts";
import { savedSetting, saveSetting } from "#platform/gpu";

/** The timed product is [N, N] x [N, N]: long enough (tens of ms on a CPU adapter) to outweigh a submission's round trip, short enough to add little to start-up. */
const TUNE_N = 256;
/** Timed runs per kernel after a warm-up (which compiles); kernels alternate, and each keeps its fastest run, so a burst of load on a shared machine hits all of them alike or none. */
const ROUNDS = 3;

export interface ProductTuning {
  strategy: DotStrategy;
  /** Each candidate's fastest run in ms; a kernel that failed to compile or run is absent. */
  ms: Partial<Record<DotStrategy, number>>;
}

const tunings = new Map<string, ProductTuning>();

/** Whether the adapter hides what it is: nothing in its info and no fallback flag (the device rule would only be a guess). */
export function isAnonymousAdapter(ctx: Pick<GpuContext, "adapterInfo" | "software">): boolean {
  const { vendor, architecture, device, description } = ctx.adapterInfo;
  return !ctx.software && !vendor && !architecture && !device && !description;
}

/** The adapter as a cache key: what it reports of itself, its device's features and limits. */
function adapterKey(ctx: GpuContext): string {
  const limits: Record<string, number> = {};
  for (const k in ctx.device.limits) limits[k] = (ctx.device.limits as unknown as Record<string, number>)[k];
  return JSON.stringify([ctx.adapterInfo, [...ctx.device.features].sort(), limits]);
}

/** The key of one adapter's tuning among `candidates`, in memory and (after STORAGE_PREFIX) in a browser's storage. */
export function tuningKey(ctx: GpuContext, candidates: DotStrategy[]): string {
  return `${adapterKey(ctx)}|${candidates.join(",")}`;
}

/** Times `candidates` on `be` (once per adapter; later calls reuse the result) and returns the fastest that works. */
export async function tuneProducts(be: WebGpuBackend, candidates: DotStrategy[]): Promise<ProductTuning> {
  const key = tuningKey(be.ctx, candidates);
  let t = tunings.get(key) ?? savedTuning(key, candidates);
  if (!t) {
    t = await timeProducts(be, candidates);
    saveSetting(STORAGE_PREFIX + key, JSON.stringify(t));
  }
  tunings.set(key, t);
  return t;
}

/** Where a browser keeps tunings across page loads. */
export const STORAGE_PREFIX = "augerino:webgpu-products:";

/** A tuning kept by an earlier page load, if it names one of `candidates` (anything else, a stale or foreign entry, is ignored). */
function savedTuning(key: string, candidates: DotStrategy[]): ProductTuning | undefined {
  const raw = savedSetting(STORAGE_PREFIX + key);
  if (raw === null) return undefined;
  try {
    const t = JSON.parse(raw) as ProductTuning;
    return candidates.includes(t.strategy) && typeof t.ms === "object" && t.ms !== null ? { strategy: t.strategy, ms: t.ms } : undefined;
  } catch {
    return undefined;
  }
}

async function timeProducts(be: WebGpuBackend, candidates: DotStrategy[]): Promise<ProductTuning> {
  const aval: ShapedArray = { shape: [TUNE_N, TUNE_N], dtype: "float32" } as ShapedArray;
  const mm = { dims: { contracting: [[1], [0]], batch: [[], []] } } as const;
  const x = be.upload(new Float32Array(TUNE_N * TUNE_N).fill(0.5), "float32");
  const run = async (strategy: DotStrategy) => {
    const program = dotProgram([aval, aval], [aval], mm as never, strategy);
    const t0 = performance.now();
    const [out] = be.runProgram(program, [x, x], [aval], `autotune (${strategy} product)`);
    be.flush();
    await be.device.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    be.free(out);
    return ms;
  };
  const ms: ProductTuning["ms"] = {};
  try {
    // The warm-up compiles; a kernel this adapter rejects is dropped, its errors caught here instead of failing a later call.
    const working: DotStrategy[] = [];
    for (const s of candidates) {
      be.device.pushErrorScope("validation");
      be.device.pushErrorScope("out-of-memory");
      const failed = await run(s).then(
        async () => (await be.device.popErrorScope()) ?? (await be.device.popErrorScope()),
        async (e: Error) => (await be.device.popErrorScope(), await be.device.popErrorScope(), e),
      );
      if (!failed) working.push(s);
    }
    for (let r = 0; r < ROUNDS; r++) for (const s of working) ms[s] = Math.min(ms[s] ?? Infinity, await run(s));
  } finally {
    be.free(x as GpuBuffer);
  }
  const ranked = (Object.entries(ms) as [DotStrategy, number][]).sort((a, b) => a[1] - b[1]);
  if (ranked.length === 0) throw new Error(`webgpu: autotune: none of the product kernels (${candidates.join(", ")}) ran on this adapter`);
  return { strategy: ranked[0][0], ms };
}

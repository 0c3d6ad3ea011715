/**
 * The backend the tests of a vitest project run on: AUGERINO_BACKEND, "cpu" by
 * default; vitest.config.ts's "webgpu" project sets "webgpu". tests/setup.ts imports this
 * module before each test file, so the backend is started and made the default before the
 * file's own code runs (and, where it cannot start, every test of the file is skipped).
 * Test files import it to pick dtypes and tolerances.
 */
import { it } from "vitest";
import { initBackend, setDefaultBackend, tree, type DType } from "../index.ts";
import { getBackend, withDefaultBackend } from "../core/backend.ts";
import { fromTyped, type NDArray } from "../core/array.ts";

let webgpuStart: Promise<string | null> | undefined;

/**
 * Starts WebGPU (once per test file); resolves to null, or to why it cannot start here,
 * printed as one line. With AUGERINO_REQUIRE_WEBGPU=1 (CI sets it where it has installed
 * lavapipe) a missing adapter fails instead.
 */
export function startWebgpu(): Promise<string | null> {
  webgpuStart ??= initBackend("webgpu").then(
    () => null,
    (e: Error) => {
      if (process.env.AUGERINO_REQUIRE_WEBGPU === "1") throw new Error(`AUGERINO_REQUIRE_WEBGPU=1 but ${e.message}`);
      console.log(`[webgpu] tests skipped: ${e.message}`);
      return e.message;
    },
  );
  return webgpuStart;
}

const name = process.env.AUGERINO_BACKEND || "cpu";
if (name !== "cpu" && name !== "webgpu") throw new Error(`AUGERINO_BACKEND="${name}": the tests run on "cpu" or "webgpu"`);

/** The default backend of this project's tests. */
export const testBackend: "cpu" | "webgpu" = name;
export const onWebgpu = testBackend === "webgpu";

/** Why the backend under test cannot start here (tests/setup.ts then skips every test), or null. */
export const backendSkipReason: string | null = onWebgpu ? await startWebgpu() : null;
if (onWebgpu && backendSkipReason === null) setDefaultBackend("webgpu");

/** The widest float dtype of the backend under test: WGSL has no 64-bit floats. */
export const FLOAT: DType = onWebgpu ? "float32" : "float64";

/**
 * Runs `f` with the CPU as the default backend: float64 references beside a WebGPU run.
 * (Library code creates its constants on the default backend, and a CPU array next to a
 * WebGPU one is copied there, so `{ backend: "cpu" }` inputs alone would not keep a
 * float64 computation on the CPU.)
 */
export const onCpu = <T>(f: () => T): T => withDefaultBackend("cpu", f);

/**
 * An array in two forms: `dev` on the backend under test, `ref` on the CPU for float64
 * references (finite differences). On the CPU both are `x`. On WebGPU (no float64) a
 * float64 `x` becomes float32 there, and `ref` holds those same float32 values in float64,
 * so the reference and the backend compute at the same point. `x` is a CPU array.
 */
export interface Pair {
  dev: NDArray;
  ref: NDArray;
}

export function pairOf(x: NDArray): Pair {
  if (!onWebgpu) return { dev: x, ref: x };
  const gpu = getBackend("webgpu");
  if (x.dtype !== "float64") return { dev: x.copyTo(gpu), ref: x };
  const f32 = Float32Array.from(x.dataSync());
  return { dev: fromTyped(f32, x.shape, "float32", "webgpu"), ref: fromTyped(Float64Array.from(f32), x.shape, "float64", "cpu") };
}

/** A copy of a pytree with every leaf on the backend under test. */
export async function toTestBackend<T>(t: T): Promise<T> {
  const [leaves, def] = tree.flatten<NDArray>(t as never);
  return tree.unflatten(def, await Promise.all(leaves.map((l) => l.to(testBackend)))) as T;
}

/**
 * `it` on the CPU; on WebGPU the test is listed as skipped, its name carrying `reason`,
 * which is also printed, so a case that cannot run there never passes silently (float64
 * itself, CPU-only machinery, or a known WebGPU bug named in `reason`).
 *
 * @example
 * itOnCpu("WebGPU has no float64")("keeps float64 precision", () => { ... });
 */
export function itOnCpu(reason: string): (name: string, fn: () => unknown) => void {
  return (name, fn) => {
    if (!onWebgpu) return void it(name, fn);
    console.log(`[webgpu] skipped "${name}": ${reason}`);
    it.skip(`${name} — skipped on WebGPU: ${reason}`, fn);
  };
}

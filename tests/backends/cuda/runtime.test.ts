/**
 * The CUDA backend on a real GPU. `initBackend("cuda")` either starts or rejects with one
 * line saying why (on a machine without an NVIDIA driver: libcuda.so.1 not found, with the
 * places searched). When it starts, every primitive case of tests/cases runs on CUDA and
 * on the CPU from the same inputs — eagerly, under jit, through grad and under vmap, with
 * float64 inputs both as float64 (CUDA computes in double) and as float32 — and the
 * runtime's own properties are checked: fusion, big grids, both reduction strategies,
 * dtypes, reads, memory, random bits. AUGERINO_REQUIRE_CUDA=1 turns a failed start into a
 * failure; CUDA_PROPERTY_RUNS (default 4) sets the seeds per case.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gc, settle } from "../../helpers.ts";
import fc from "fast-check";
import { devices, getBackend, grad, initBackend, jit, makeJaxpr, np, vmap } from "../../../index.ts";
import { NDArray } from "../../../core/array.ts";
import { isFloat } from "../../../core/dtype.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { threefry2x32 } from "../../../core/primitives/random.ts";
import { threefry2x32Scalar } from "../../../core/backends/cpu/routines/random.ts";
import { libcudaDirs } from "../../../core/backends/cuda/driver.ts";
import { cudaStats, hasCudaRoutine, type CudaBackend } from "../../../core/backends/cuda/index.ts";
import type { PrimCase } from "../../cases/types.ts";
import { applyPrim, makeCase, stackAt } from "../../transforms/harness.ts";
import { compareValues } from "./compare.ts";
import { getPrimitive } from "../../../core/primitive.ts";
import { runsAsKernel } from "../../../core/compiler/eager.ts";

/** Whether a primitive runs on the device: as a kernel of the IR, or as a routine with a program here. */
const onDevice = (name: string) => runsAsKernel(getPrimitive(name)) || hasCudaRoutine(name);

let skipReason: string | null = null;
try {
  await initBackend("cuda");
} catch (e) {
  skipReason = (e as Error).message;
  if (process.env.AUGERINO_REQUIRE_CUDA === "1") throw new Error(`AUGERINO_REQUIRE_CUDA=1 but ${skipReason}`, { cause: e });
  console.log(`[cuda] runtime tests skipped: ${skipReason}`);
}

const RUNS = Number(process.env.CUDA_PROPERTY_RUNS ?? 4);
const TOL32 = Number(process.env.CUDA_TOL ?? 2e-4);
const TOL64 = 1e-8;

/** A copy of a CPU array on the CUDA backend. */
function onCuda(x: Tracer): NDArray {
  const b = getBackend("cuda");
  return new NDArray(x.aval, b, b.upload((x as NDArray).dataSync(), x.dtype));
}

async function expectSame(got: Tracer[], want: Tracer[], tol: number, what: string): Promise<void> {
  expect(got.length, `${what}: number of outputs`).toBe(want.length);
  for (let k = 0; k < want.length; k++) {
    expect(got[k].shape, `${what}: output ${k} shape`).toEqual(want[k].shape);
    expect(got[k].dtype, `${what}: output ${k} dtype`).toBe(want[k].dtype);
    expect((got[k] as NDArray).backend, `${what}: output ${k} backend`).toBe("cuda");
    const msg = compareValues(await (got[k] as NDArray).data(), (want[k] as NDArray).dataSync(), isFloat(want[k].dtype), tol);
    if (msg) expect.fail(`${what}: output ${k}: ${msg}`);
  }
}

describe("starting CUDA", () => {
  it("starts, or rejects with one line saying why", () => {
    if (skipReason === null) {
      expect(devices()).toContain("cuda");
      const b = getBackend("cuda") as CudaBackend;
      console.log(`[cuda] ${b.ctx.device.name} (compute ${b.ctx.device.computeCapability.join(".")}), ${b.ctx.compiler.name}, target ${b.ctx.target.kind} sm_${b.ctx.target.arch}`);
      return;
    }
    expect(skipReason).toMatch(/^cuda: /);
    expect(skipReason).not.toContain("\n");
    expect(devices()).not.toContain("cuda");
    const libcuda = [...libcudaDirs()].map((d) => join(d, "libcuda.so.1")).some((p) => existsSync(p));
    if (!libcuda && !process.env.AUGERINO_LIBCUDA) {
      expect(skipReason).toMatch(/^cuda: libcuda\.so\.1 not found \(no NVIDIA driver\); searched .*\/usr\/lib\/x86_64-linux-gnu|^cuda: the optional FFI package koffi/);
    }
  });
});

type NamedCase = PrimCase & { file: string; index: number };
const cases: NamedCase[] = [];
if (skipReason === null) {
  const dir = new URL("../../cases/", import.meta.url);
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && f !== "types.ts")
    .sort()) {
    const mod = (await import(new URL(file, dir).href)) as { cases: PrimCase[] };
    mod.cases.forEach((c, index) => cases.push({ ...c, file, index }));
  }
}

describe.skipIf(skipReason !== null)("CUDA primitives match the CPU", () => {
  const seeds = () => fc.sample(fc.integer({ min: 1, max: 0x7fffffff }), RUNS);
  const host = [...new Set(cases.map((c) => c.prim).filter((p) => !onDevice(p)))];
  if (host.length > 0) console.log(`[cuda] on the host (no CUDA kernel yet): ${host.join(", ")}`);
  for (const c of cases) {
    const f =
      (params: object) =>
      (...xs: Tracer[]) =>
        applyPrim(c.prim, xs, params);
    for (const precision of ["float64", "float32"] as const) {
      const name = `${c.prim} (${c.file} #${c.index}, ${precision})`;
      const tol = precision === "float64" ? TOL64 : ((c as { gpuTol?: number }).gpuTol ?? TOL32);
      const draw = (seed: number, valueSeed?: number) => {
        const { args, params } = makeCase(c, seed, valueSeed);
        return { args: precision === "float32" ? args.map((a) => (a.dtype === "float64" ? (np.astype(a, "float32") as NDArray) : a)) : args, params };
      };
      it(`${name}: eager and jit`, async () => {
        for (const seed of seeds()) {
          const { args, params } = draw(seed);
          const want = f(params)(...args);
          const gargs = args.map(onCuda);
          await expectSame(f(params)(...gargs), want, tol, `${name} eager, seed ${seed}`);
          if (!c.skip?.jit) await expectSame(jit(f(params))(...gargs) as Tracer[], want, tol, `${name} jit, seed ${seed}`);
        }
      });
      it(`${name}: grad`, async () => {
        for (const seed of seeds()) {
          const { args, params } = draw(seed);
          const which = (c.diffArgs ?? args.map((_, i) => i)).filter((i) => isFloat(args[i].dtype));
          if (c.skip?.grad || which.length === 0) return;
          const outs = f(params)(...args).filter((o) => isFloat(o.dtype));
          if (outs.length === 0) return;
          const loss = (...xs: Tracer[]) =>
            f(params)(...xs)
              .filter((o) => isFloat(o.dtype))
              .map((o) => np.sum(o))
              .reduce((a, b) => a.add(b));
          const want = grad(loss, { argnums: which })(...args) as Tracer[];
          const got = grad(loss, { argnums: which })(...args.map(onCuda)) as Tracer[];
          await expectSame(got, want, tol * 10, `${name} grad, seed ${seed}`);
        }
      });
      it(`${name}: vmap`, async () => {
        for (const seed of seeds()) {
          if (c.skip?.vmap) return;
          const draws = [draw(seed, seed + 1), draw(seed, seed + 2)];
          const stacked = draws[0].args.map((_, i) =>
            stackAt(
              draws.map((d) => d.args[i]),
              0,
            ),
          );
          const want = vmap(f(draws[0].params))(...stacked) as Tracer[];
          await expectSame(vmap(f(draws[0].params))(...stacked.map(onCuda)) as Tracer[], want, tol, `${name} vmap, seed ${seed}`);
        }
      });
    }
  }
});

const cpuRange = (n: number, scale = 1e-3) => np.mul(np.arange(n, undefined, 1, { dtype: "float32" }), scale) as NDArray;
const chain = (x: Tracer) => np.sum(np.tanh(x.mul(1.5).add(0.25)).mul(np.exp(x.neg())).sub(0.5));

describe.skipIf(skipReason !== null)("CUDA runtime", () => {
  it("jit fuses a chain into one launch with the CPU's values", async () => {
    const x = cpuRange(100000);
    const f = jit(chain);
    const want = (f(x) as NDArray).dataSync();
    const gx = onCuda(x);
    await (f(gx) as NDArray).data();
    const before = cudaStats.launches;
    const got = await (f(gx) as NDArray).data();
    expect(cudaStats.launches - before).toBe(1);
    expect(makeJaxpr(chain)(x).jaxpr.eqns.length).toBeGreaterThan(5);
    expect(compareValues(got, want, true, 1e-4)).toBeNull();
  });

  it("grids over 65535 blocks, and reads synchronise (dataSync works)", () => {
    const x = cpuRange(65536 * 256 + 5, 1e-7);
    const got = (np.exp(onCuda(x)) as NDArray).dataSync();
    expect(compareValues(got, (np.exp(x) as NDArray).dataSync(), true, 1e-5)).toBeNull();
  });

  it("reductions agree with the CPU for long and short reduced axes (both strategies)", async () => {
    const x = np.reshape(cpuRange(3 * 5000, 1e-4), [3, 5000]) as NDArray;
    for (const axis of [0, 1]) {
      for (const f of [np.sum, np.max, np.min]) {
        const got = await (f(onCuda(x), { axis }) as NDArray).data();
        expect(compareValues(got, (f(x, { axis }) as NDArray).dataSync(), true, 1e-5)).toBeNull();
      }
    }
  });

  it("max/min propagate NaN; integers wrap; bool is a byte; float64 stays float64", async () => {
    expect(Number.isNaN((await (np.max(onCuda(np.array([1, NaN, 3]))) as NDArray).data())[0])).toBe(true);
    expect([...(await (onCuda(np.array(new Int32Array([2147483647, -5]))).add(1) as NDArray).data())]).toEqual([-2147483648, -4]);
    expect([...(await (np.logicalNot(onCuda(np.array([true, false]))) as NDArray).data())]).toEqual([0, 1]);
    const d = onCuda(np.array(new Float64Array([1e-300, 1 + 2 ** -40])));
    const got = (await (d.mul(3) as NDArray).data()) as Float64Array;
    expect(got).toBeInstanceOf(Float64Array);
    expect([...got]).toEqual([3e-300, 3 * (1 + 2 ** -40)]);
  });

  it("threefry2x32 gives the CPU's bits", async () => {
    const n = 10000;
    const u = (v: number) => onCuda(np.full([n], v, { dtype: "uint32" }) as NDArray);
    const [y0] = threefry2x32(u(0x12345678), u(0x9abcdef0), u(0), onCuda(np.arange(n, undefined, 1, { dtype: "uint32" }) as NDArray));
    const bits = await (y0 as NDArray).data();
    for (const i of [0, 1, 777, n - 1]) expect(bits[i]).toBe(threefry2x32Scalar(0x12345678, 0x9abcdef0, 0, i)[0]);
  });

  it("a large matmul matches the CPU (and reports its speed)", () => {
    const a = np.reshape(cpuRange(1024 * 1024, 1e-6), [1024, 1024]) as NDArray;
    const want = (np.matmul(a, a) as NDArray).dataSync();
    const ga = onCuda(a);
    (np.matmul(ga, ga) as NDArray).dataSync();
    const t = performance.now();
    const got = (np.matmul(ga, ga) as NDArray).dataSync();
    const ms = performance.now() - t;
    console.log(`[cuda] matmul 1024: ${((2 * 1024 ** 3) / ms / 1e6).toFixed(0)} GFLOP/s including readback`);
    expect(compareValues(got, want, true, 1e-4)).toBeNull();
  });

  it.skipIf(!gc)("memory stays flat over many steps (needs node --expose-gc, set in vitest.config.ts)", async () => {
    const b = getBackend("cuda");
    let y = onCuda(cpuRange(4096));
    await settle();
    const start = b.memoryStats().liveBuffers;
    for (let k = 0; k < 2000; k++) {
      const next = np.tanh(y).mul(0.5) as NDArray;
      y.dispose();
      y = next;
      if (k % 500 === 0) await settle();
    }
    y.dataSync();
    await settle();
    expect(b.memoryStats().liveBuffers).toBeLessThanOrEqual(start + 2);
  });
});

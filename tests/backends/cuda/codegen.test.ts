/**
 * The CUDA C the backend generates: every kernel rule over representative shapes, the IR
 * kernel of every elementwise and reduction primitive (each dtype, both reduction
 * strategies) and fused jit kernels compile with `nvcc -ptx -arch=sm_90`, and the PTX
 * assembles for sm_90 (ptxas checks registers and shared memory). All modules go through
 * two nvcc runs (one translation unit each, every module in its own namespace). Skipped
 * with the reason when nvcc is absent; AUGERINO_REQUIRE_NVCC=1 makes that a failure.
 * Checks of the sources themselves, the compile cache and target choice need no nvcc.
 */
import { PLAN_ONLY_ROUTINES, ROUTINE_NAMES } from "../../../core/routines.ts";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sizeOf } from "../../../core/shape.ts";
import { ENTRY, literal } from "../../../core/backends/cuda/cuda-c.ts";
import { cudaRuleNames } from "../../../core/backends/cuda/kernels/index.ts";
import { hasCudaRoutine } from "../../../core/backends/cuda/index.ts";
import { chooseTarget, compileCached, compileStats, findCompiler, findNvcc, forgetCompiled, nvccCompiler, type CudaCompiler } from "../../../core/backends/cuda/nvrtc.ts";
import { loadKoffi } from "../../../core/backends/cuda/driver.ts";
import { allProgramCases, KERNEL_PRIMS } from "./programs.ts";
import { batchSource, chunks } from "./sources.ts";

const nvcc = findNvcc();
if (!nvcc) {
  if (process.env.AUGERINO_REQUIRE_NVCC === "1") throw new Error("AUGERINO_REQUIRE_NVCC=1 but nvcc was not found ($AUGERINO_NVCC, $CUDA_PATH/bin, /usr/local/cuda/bin, PATH)");
  console.log("[cuda] nvcc compile checks skipped: nvcc not found ($AUGERINO_NVCC, $CUDA_PATH/bin, /usr/local/cuda/bin, PATH)");
}

const cases = (await allProgramCases()).filter((c) => c.outAvals.every((a) => sizeOf(a.shape) > 0));
const passes = cases.flatMap((c) => c.program.passes);
const codes = [...new Set(passes.map((p) => p.code))];

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}:\n${out.split("\n").slice(0, 60).join("\n")}`))));
  });
}

describe("generated CUDA C", () => {
  it("covers every CUDA kernel rule and every lowered primitive", () => {
    const used = new Set(cases.map((c) => c.prim));
    for (const name of [...cudaRuleNames(), ...KERNEL_PRIMS]) {
      expect(used.has(name), `no program case runs ${name}`).toBe(true);
    }
    expect(cases.some((c) => c.name.startsWith("fused:"))).toBe(true);
    expect(codes.length).toBeGreaterThan(400);
  });

  it("every routine has a CUDA program (kernels of the IR always do), so none falls back to the host", () => {
    // Routines only the CPU's plan makes never reach CUDA.
    expect(ROUTINE_NAMES.filter((name) => !hasCudaRoutine(name) && !PLAN_ONLY_ROUTINES.includes(name))).toEqual([]);
  });

  it('every module is self-contained: one extern "C" entry, launch bounds equal to the launch\'s threads, no includes', () => {
    for (const p of passes) {
      expect(p.code).not.toMatch(/#include/);
      const entries = p.code.match(new RegExp(`extern "C" __global__ void __launch_bounds__\\((\\d+)\\) ${ENTRY}\\(`, "g")) ?? [];
      expect(entries.length).toBe(1);
      expect(entries[0]).toContain(`__launch_bounds__(${p.threads})`);
      expect(p.blocks).toBeGreaterThanOrEqual(1);
      expect(p.blocks).toBeLessThanOrEqual(0x7fffffff);
    }
  });

  it("float literals are exact (decimal with 9 or 17 digits, or bit patterns)", () => {
    const parse = (s: string, bits: "f32" | "f64") => {
      const hex = /0x([0-9a-f]+)/.exec(s);
      if (hex) {
        if (bits === "f32") return new Float32Array(new Uint32Array([parseInt(hex[1], 16)]).buffer)[0];
        return new Float64Array(new BigUint64Array([BigInt(`0x${hex[1]}`)]).buffer)[0];
      }
      // A C compiler rounds the decimal to the literal's type.
      const x = Number(s.replace(/[()f]/g, ""));
      return bits === "f32" ? Math.fround(x) : x;
    };
    const values = [0, -0, 1, -1, 0.1, 1 / 3, 1e8, 123456789, 3.4028234663852886e38, 1e-39, -1e-45, 2 ** -149, NaN, Infinity, -Infinity, Math.PI, -2.5e-7];
    for (const v of values) {
      const f = Math.fround(v);
      expect(Object.is(parse(literal(v, "float32"), "f32"), f) || (Number.isNaN(f) && Number.isNaN(parse(literal(v, "float32"), "f32"))), `float32 ${v}: ${literal(v, "float32")}`).toBe(true);
      const d = parse(literal(v, "float64"), "f64");
      expect(Object.is(d, v) || (Number.isNaN(v) && Number.isNaN(d)), `float64 ${v}: ${literal(v, "float64")}`).toBe(true);
    }
    expect(literal(-2147483648, "int32")).toBe("(-2147483647 - 1)");
    expect(literal(4294967295, "uint32")).toBe("4294967295u");
  });

  it.skipIf(!nvcc)(
    `all ${codes.length} modules compile with nvcc -ptx -arch=sm_90 and assemble for sm_90`,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "augerino-cuda-codegen-"));
      await Promise.all(
        chunks(codes, 2).map(async ({ first, items }, i) => {
          const cu = join(dir, `part${i}.cu`);
          writeFileSync(cu, batchSource(items, first));
          const ptx = join(dir, `part${i}.ptx`);
          await exec(nvcc!, ["-ptx", "-arch=sm_90", "-std=c++17", "-o", ptx, cu]);
          await exec(nvcc!, ["-cubin", "-arch=sm_90", "-o", join(dir, `part${i}.cubin`), ptx]);
        }),
      );
      expect(readdirSync(dir).filter((f) => f.endsWith(".cubin")).length).toBe(Math.min(2, codes.length));
      rmSync(dir, { recursive: true, force: true });
    },
    180_000,
  );
});

describe("compiling kernels at run time", () => {
  const saved = process.env.AUGERINO_CUDA_CACHE;
  afterAll(() => {
    if (process.env.AUGERINO_CUDA_CACHE !== saved) rmSync(process.env.AUGERINO_CUDA_CACHE!, { recursive: true, force: true });
    if (saved === undefined) delete process.env.AUGERINO_CUDA_CACHE;
    else process.env.AUGERINO_CUDA_CACHE = saved;
  });

  it("targets: the device's own architecture, else PTX for the newest older one", () => {
    const cc = (archs: number[]): CudaCompiler => ({ name: "test", archs, compile: () => new Uint8Array() });
    expect(chooseTarget(cc([75, 80, 90]), 90)).toEqual({ arch: 90, kind: "cubin" });
    expect(chooseTarget(cc([75, 80, 90]), 90, "ptx")).toEqual({ arch: 90, kind: "ptx" });
    expect(chooseTarget(cc([75, 80, 90]), 120)).toEqual({ arch: 90, kind: "ptx" });
    expect(chooseTarget(cc([]), 86)).toEqual({ arch: 86, kind: "cubin" });
    expect(() => chooseTarget(cc([80, 90]), 75)).toThrow(/cannot target compute capability 7.5/);
  });

  it("without NVRTC the compiler is nvcc, or the reason names both", async () => {
    let koffi = null;
    try {
      koffi = await loadKoffi();
    } catch {
      // The message below then says koffi is unavailable.
    }
    try {
      const c = findCompiler(koffi);
      expect(c.name).toMatch(/^(nvrtc|nvcc) /);
    } catch (e) {
      expect((e as Error).message).toMatch(/^cuda: no CUDA C compiler: .*nvcc is not on PATH/);
    }
    const forced = { ...process.env, AUGERINO_CUDA_COMPILER: "nvrtc", AUGERINO_NVRTC: "/nonexistent/libnvrtc.so" };
    if (koffi) {
      try {
        expect(findCompiler(koffi, forced).name).toMatch(/^nvrtc /);
      } catch (e) {
        expect((e as Error).message).toMatch(/^cuda: libnvrtc\.so not found/);
      }
    }
  });

  it.skipIf(!nvcc)(
    "nvcc output is cached in memory and on disk",
    () => {
      process.env.AUGERINO_CUDA_CACHE = mkdtempSync(join(tmpdir(), "augerino-cuda-cache-"));
      const compiler = nvccCompiler(nvcc!);
      expect(compiler.archs).toContain(90);
      const src = `extern "C" __global__ void __launch_bounds__(32) ${ENTRY}(float* __restrict__ out) { out[threadIdx.x] = ${Date.now() % 1000}.0f; }\n`;
      const before = { ...compileStats };
      const ptx = compileCached(compiler, src, { arch: 90, kind: "ptx" });
      expect(Buffer.from(ptx).toString("utf8")).toMatch(/\.target sm_90/);
      expect(ptx[ptx.length - 1]).toBe(0);
      expect(compileCached(compiler, src, { arch: 90, kind: "ptx" })).toBe(ptx);
      forgetCompiled();
      expect([...compileCached(compiler, src, { arch: 90, kind: "ptx" })]).toEqual([...ptx]);
      const cubin = compileCached(compiler, src, { arch: 90, kind: "cubin" });
      expect([...cubin.slice(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // an ELF image
      expect(compileStats.compiled - before.compiled).toBe(2);
      expect(compileStats.memoryHits - before.memoryHits).toBe(1);
      expect(compileStats.diskHits - before.diskHits).toBe(1);
      expect(
        readdirSync(process.env.AUGERINO_CUDA_CACHE!)
          .map((f) => f.split(".")[1])
          .sort(),
      ).toEqual(["cubin", "ptx"]);
    },
    60_000,
  );

  it.skipIf(!nvcc)("a kernel that does not compile reports nvcc's diagnostics", () => {
    expect(() => nvccCompiler(nvcc!).compile(`extern "C" __global__ void ${ENTRY}() { undefined_thing(); }`, { arch: 90, kind: "ptx" })).toThrow(
      /cuda: nvcc could not compile a kernel \(exit \d+\):[\s\S]*undefined_thing/,
    );
  });
});

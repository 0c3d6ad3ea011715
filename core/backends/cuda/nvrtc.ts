/**
 * CUDA C -> device code at run time. NVRTC (libnvrtc.so, loaded through koffi from
 * $CUDA_PATH, /usr/local/cuda or the nvidia-cuda-nvrtc Python wheel) when present; else
 * `nvcc` as a subprocess. Results are cached by (compiler, target, source): in memory, and
 * on disk under ~/.cache/augerino/cuda (or $AUGERINO_CUDA_CACHE), so a second process
 * starts without compiling.
 *
 * Targets: a cubin for the device's exact architecture (no JIT at load time, and it loads
 * on a driver older than the compiler), or PTX for a virtual architecture, which the driver
 * JIT-compiles (the fallback when the compiler does not know the device's architecture).
 *
 * @example
 * const cc = await findCompiler();
 * const image = compileCached(cc, src, { arch: 90, kind: "cubin" });
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { Koffi } from "./driver.ts";

export interface Target {
  /** Compute capability as major * 10 + minor (90 for an H100). */
  arch: number;
  kind: "ptx" | "cubin";
}

export interface CudaCompiler {
  /** e.g. "nvrtc 12.4 (/usr/local/cuda/lib64/libnvrtc.so.12)" or "nvcc 13.0 (/usr/local/cuda/bin/nvcc)". */
  readonly name: string;
  /** Architectures it can target (ascending); empty when unknown. */
  readonly archs: readonly number[];
  /** The module image: PTX text NUL-terminated, or cubin bytes. Throws with the compiler's log. */
  compile(source: string, target: Target): Uint8Array;
}

/** The most specific target a compiler can produce for a device of compute capability `arch`. */
export function chooseTarget(compiler: CudaCompiler, arch: number, prefer: "cubin" | "ptx" = "cubin"): Target {
  if (compiler.archs.length === 0 || compiler.archs.includes(arch)) return { arch, kind: prefer };
  // An unknown (newer) device: PTX for the newest virtual architecture below it, JIT-compiled by the driver.
  const below = compiler.archs.filter((a) => a <= arch);
  if (below.length === 0) throw new Error(`cuda: ${compiler.name} cannot target compute capability ${arch / 10} (supports ${compiler.archs.join(", ")})`);
  return { arch: below[below.length - 1], kind: "ptx" };
}

const firstLines = (s: string, n = 30) =>
  s
    .split("\n")
    .filter((l) => l.trim())
    .slice(0, n)
    .join("\n");
const withNul = (s: string) => {
  const b = Buffer.from(s, "utf8");
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
};

// ---------------------------------------------------------------- NVRTC

/** Directories that may hold libnvrtc.so.*, in order. */
export function nvrtcDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = [env.CUDA_PATH ? join(env.CUDA_PATH, "lib64") : "", "/usr/local/cuda/lib64"];
  // pip's nvidia-cuda-nvrtc wheels: nvidia/cuda_nvrtc/lib (CUDA 12) or nvidia/cu13/lib (CUDA 13).
  for (const site of pythonSitePackages(env)) dirs.push(join(site, "nvidia", "cuda_nvrtc", "lib"), join(site, "nvidia", "cu13", "lib"));
  return dirs.filter((d) => d && existsSync(d));
}

/** site-packages directories of the Python on PATH (and VIRTUAL_ENV), found without running Python. */
function pythonSitePackages(env: NodeJS.ProcessEnv): string[] {
  const roots = [env.VIRTUAL_ENV, env.CONDA_PREFIX, "/usr/local", "/usr", join(homedir(), ".local")].filter(Boolean) as string[];
  for (const p of (env.PATH ?? "").split(delimiter)) if (p.endsWith("/bin")) roots.push(p.slice(0, -4));
  const out = new Set<string>();
  for (const root of new Set(roots)) {
    const lib = join(root, "lib");
    let entries: string[];
    try {
      entries = readdirSync(lib).filter((e) => /^python3(\.\d+)?$/.test(e));
    } catch {
      continue;
    }
    for (const e of entries) for (const sub of ["site-packages", "dist-packages"]) if (existsSync(join(lib, e, sub))) out.add(join(lib, e, sub));
  }
  return [...out];
}

/** libnvrtc files in a directory, newest version first (libnvrtc-builtins excluded). */
function nvrtcFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^libnvrtc\.so(\.\d+)*$/.test(n));
  } catch {
    return [];
  }
  const ver = (n: string) => n.split(".so")[1].split(".").filter(Boolean).map(Number);
  names.sort((a, b) => {
    const [x, y] = [ver(a), ver(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? -1) !== (y[i] ?? -1)) return (y[i] ?? -1) - (x[i] ?? -1);
    return 0;
  });
  return names.map((n) => join(dir, n));
}

type Fn = (...args: unknown[]) => number;

/** The CUDA major version in a libnvrtc file name (libnvrtc.so.12 -> 12), or null. */
const sonameMajor = (path: string) => {
  const m = /libnvrtc\.so\.(\d+)/.exec(path);
  return m ? Number(m[1]) : null;
};

/**
 * NVRTC through koffi. Throws a one-line reason when no library loads. With the driver's
 * CUDA major version, libraries no newer than the driver come first (a driver cannot load
 * code from a newer major toolkit).
 */
export function loadNvrtc(koffi: Koffi, env: NodeJS.ProcessEnv = process.env, driverMajor?: number): CudaCompiler {
  const found = [...(env.AUGERINO_NVRTC ? [env.AUGERINO_NVRTC] : []), ...nvrtcDirs(env).flatMap(nvrtcFiles), "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"];
  const tooNew = (p: string) => driverMajor !== undefined && (sonameMajor(p) ?? 0) > driverMajor;
  const candidates = [...found.filter((p) => !tooNew(p)), ...found.filter(tooNew)];
  const failures: string[] = [];
  for (const path of candidates) {
    if (path.includes("/") && !existsSync(path)) continue;
    let lib: ReturnType<Koffi["load"]>;
    try {
      lib = koffi.load(path);
    } catch (e) {
      if (path.includes("/")) failures.push(`${path}: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    return nvrtcCompiler(lib, path);
  }
  throw new Error(`cuda: libnvrtc.so not found${failures.length ? ` (${failures.join("; ")})` : ""}; searched ${[...nvrtcDirs(env), "the dynamic loader's path"].join(", ")}`);
}

function nvrtcCompiler(lib: ReturnType<Koffi["load"]>, path: string): CudaCompiler {
  const f = (proto: string): Fn => lib.func(proto) as Fn;
  const optional = (proto: string): Fn | null => {
    try {
      return f(proto);
    } catch {
      return null;
    }
  };
  const api = {
    version: f("int nvrtcVersion(void *major, void *minor)"),
    create: f("int nvrtcCreateProgram(void *prog, const char *src, const char *name, int numHeaders, void *headers, void *includeNames)"),
    destroy: f("int nvrtcDestroyProgram(void *prog)"),
    compile: f("int nvrtcCompileProgram(void *prog, int numOptions, const char **options)"),
    logSize: f("int nvrtcGetProgramLogSize(void *prog, void *size)"),
    log: f("int nvrtcGetProgramLog(void *prog, void *log)"),
    ptxSize: f("int nvrtcGetPTXSize(void *prog, void *size)"),
    ptx: f("int nvrtcGetPTX(void *prog, void *ptx)"),
    cubinSize: optional("int nvrtcGetCUBINSize(void *prog, void *size)"),
    cubin: optional("int nvrtcGetCUBIN(void *prog, void *cubin)"),
    numArchs: optional("int nvrtcGetNumSupportedArchs(void *n)"),
    archs: optional("int nvrtcGetSupportedArchs(void *archs)"),
    error: lib.func("const char *nvrtcGetErrorString(int result)") as (r: number) => string,
  };
  const check = (call: string, r: number) => {
    if (r !== 0) throw new Error(`cuda: ${call} failed: ${api.error(r)}`);
  };
  const major = new Int32Array(1),
    minor = new Int32Array(1);
  check("nvrtcVersion", api.version(major, minor));
  let archs: number[] = [];
  if (api.numArchs && api.archs) {
    const n = new Int32Array(1);
    if (api.numArchs(n) === 0 && n[0] > 0) {
      const list = new Int32Array(n[0]);
      if (api.archs(list) === 0) archs = [...list].sort((a, b) => a - b);
    }
  }
  const name = `nvrtc ${major[0]}.${minor[0]} (${path})`;
  return {
    name,
    archs,
    compile(source, target) {
      const useCubin = target.kind === "cubin" && api.cubin && api.cubinSize;
      const prog = new BigUint64Array(1);
      check("nvrtcCreateProgram", api.create(prog, source, "augerino.cu", 0, null, null));
      try {
        const options = [`--gpu-architecture=${useCubin ? "sm" : "compute"}_${target.arch}`, "--std=c++17"];
        const r = api.compile(prog[0], options.length, options);
        if (r !== 0) {
          const size = new BigUint64Array(1);
          api.logSize(prog[0], size);
          const log = new Uint8Array(Number(size[0]));
          if (log.length > 0) api.log(prog[0], log);
          const text = Buffer.from(log).toString("utf8").replace(/\0+$/, "");
          throw new Error(`cuda: NVRTC could not compile a kernel (${api.error(r)}):\n${firstLines(text)}${process.env.AUGERINO_CUDA_DEBUG ? `\n${source}` : ""}`);
        }
        const size = new BigUint64Array(1);
        if (useCubin) {
          check("nvrtcGetCUBINSize", api.cubinSize!(prog[0], size));
          const out = new Uint8Array(Number(size[0]));
          check("nvrtcGetCUBIN", api.cubin!(prog[0], out));
          return out;
        }
        check("nvrtcGetPTXSize", api.ptxSize(prog[0], size));
        // The size counts the terminating NUL, which cuModuleLoadData needs.
        const out = new Uint8Array(Number(size[0]));
        check("nvrtcGetPTX", api.ptx(prog[0], out));
        return out;
      } finally {
        api.destroy(prog);
      }
    },
  };
}

// ---------------------------------------------------------------- nvcc

/** The nvcc to use: $AUGERINO_NVCC, $CUDA_PATH/bin, /usr/local/cuda/bin, then PATH; null when none exists. */
export function findNvcc(env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [env.CUDA_PATH ? join(env.CUDA_PATH, "bin") : "", "/usr/local/cuda/bin", ...(env.PATH ?? "").split(delimiter)].filter(Boolean);
  const candidates = [...(env.AUGERINO_NVCC ? [env.AUGERINO_NVCC] : []), ...dirs.map((d) => join(d, "nvcc"))];
  return candidates.find((p) => existsSync(p)) ?? null;
}

/**
 * Compiles with nvcc in a scratch directory. `extraArgs` go before the source (tests pass
 * e.g. `-w`). Throws with nvcc's diagnostics.
 */
export function nvccCompile(nvcc: string, source: string, target: Target, extraArgs: string[] = []): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "augerino-nvcc-"));
  try {
    const src = join(dir, "kernel.cu");
    const out = join(dir, `kernel.${target.kind}`);
    writeFileSync(src, source);
    const args = [`-${target.kind}`, `-arch=sm_${target.arch}`, "-std=c++17", ...extraArgs, "-o", out, src];
    const r = spawnSync(nvcc, args, { encoding: "utf8", timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw new Error(`cuda: running ${nvcc} failed: ${r.error.message}`);
    if (r.status !== 0) {
      throw new Error(`cuda: nvcc could not compile a kernel (exit ${r.status}):\n${firstLines(`${r.stderr}\n${r.stdout}`)}${process.env.AUGERINO_CUDA_DEBUG ? `\n${source}` : ""}`);
    }
    const bytes = readFileSync(out);
    return target.kind === "ptx" ? withNul(bytes.toString("utf8")) : new Uint8Array(bytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** nvcc as a compiler; its version and architectures come from `nvcc --version` and `--list-gpu-arch`. */
export function nvccCompiler(nvcc: string): CudaCompiler {
  const version = spawnSync(nvcc, ["--version"], { encoding: "utf8" });
  if (version.status !== 0) throw new Error(`cuda: ${nvcc} --version failed: ${firstLines(version.stderr ?? "", 3)}`);
  const release = /release (\d+\.\d+)/.exec(version.stdout)?.[1] ?? "?";
  const list = spawnSync(nvcc, ["--list-gpu-arch"], { encoding: "utf8" });
  const archs = list.status === 0 ? [...list.stdout.matchAll(/compute_(\d+)\b/g)].map((m) => Number(m[1])).sort((a, b) => a - b) : [];
  return { name: `nvcc ${release} (${nvcc})`, archs, compile: (source, target) => nvccCompile(nvcc, source, target) };
}

// ---------------------------------------------------------------- choice and cache

/**
 * NVRTC if it loads, else nvcc, else a one-line reason. AUGERINO_CUDA_COMPILER=nvrtc|nvcc
 * forces one.
 */
export function findCompiler(koffi: Koffi | null, env: NodeJS.ProcessEnv = process.env, driverMajor?: number): CudaCompiler {
  const want = env.AUGERINO_CUDA_COMPILER;
  let nvrtcReason = "koffi is not available";
  if (want !== "nvcc" && koffi) {
    try {
      return loadNvrtc(koffi, env, driverMajor);
    } catch (e) {
      nvrtcReason = (e as Error).message.replace(/^cuda: /, "");
      if (want === "nvrtc") throw e;
    }
  }
  const nvcc = findNvcc(env);
  if (nvcc) return nvccCompiler(nvcc);
  throw new Error(`cuda: no CUDA C compiler: ${nvrtcReason}, and nvcc is not on PATH, in $CUDA_PATH/bin or /usr/local/cuda/bin`);
}

/** The on-disk cache directory. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AUGERINO_CUDA_CACHE ?? join(homedir(), ".cache", "augerino", "cuda");
}

const memory = new Map<string, Uint8Array>();
export const compileStats = { compiled: 0, memoryHits: 0, diskHits: 0 };

/** Empties the in-memory cache (tests use it to reach the disk cache). */
export function forgetCompiled(): void {
  memory.clear();
}

/** Compiles through the caches: memory, then disk, then the compiler (whose result is stored in both). */
export function compileCached(compiler: CudaCompiler, source: string, target: Target): Uint8Array {
  const key = createHash("sha256").update(`${compiler.name}\0${target.kind}\0${target.arch}\0${source}`).digest("hex");
  const hit = memory.get(key);
  if (hit) {
    compileStats.memoryHits++;
    return hit;
  }
  const dir = cacheDir();
  const file = join(dir, `${key}.${target.kind}`);
  try {
    const bytes = new Uint8Array(readFileSync(file));
    memory.set(key, bytes);
    compileStats.diskHits++;
    return bytes;
  } catch {
    // Not cached yet.
  }
  const image = compiler.compile(source, target);
  compileStats.compiled++;
  memory.set(key, image);
  try {
    mkdirSync(dir, { recursive: true });
    // Write then rename, so a concurrent reader never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, image);
    renameSync(tmp, file);
  } catch {
    // A read-only home only costs recompilation.
  }
  return image;
}

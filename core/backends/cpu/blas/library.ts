/**
 * The platform BLAS (OpenBLAS, MKL, BLIS, Apple Accelerate) through koffi, for the CPU
 * backend's float32/float64 products. Found on first use: `AUGERINO_BLAS=path` names the
 * library, `AUGERINO_BLAS=0` turns the path off, otherwise the first of `blasCandidates()`
 * that loads and exports cblas_sgemm/cblas_dgemm. Without one the products run on the
 * WebAssembly kernels, and the first product prints one line saying what would be faster.
 * `AUGERINO_BLAS_PATH=a:b:...` replaces the candidate list (a library installed elsewhere,
 * or a search that finds nothing, to see the kernels a BLAS-less machine runs).
 *
 * Thread count: the pool's `cpuThreads()` (AUGERINO_THREADS / `setCpuThreads`), passed to
 * the library's own setter before a call whenever it changed.
 *
 *   const b = cpuBlas();   // null when off or absent
 *   b?.sgemm(false, false, m, n, k, a, k, bm, n, c, n, 0);
 */
import { loadFfi } from "#platform/ffi";
import { cpuThreads } from "../wasm/pool.ts";
import { envVar, isNode, platformName, printDiagnostic } from "../../../env.ts";

export type FloatArray = Float32Array | Float64Array;

/**
 * C = A B + beta C on row-major operands, A m x k (k x m when transA) with leading
 * dimension lda, and so on; each array starts at its operand's first element.
 */
export type Gemm<T extends FloatArray> = (transA: boolean, transB: boolean, m: number, n: number, k: number, a: T, lda: number, b: T, ldb: number, c: T, ldc: number, beta: number) => void;

export interface Blas {
  /** Where the library was loaded from. */
  path: string;
  /** The library's own description (OpenBLAS: its build configuration), or the path. */
  describe: string;
  sgemm: Gemm<Float32Array>;
  dgemm: Gemm<Float64Array>;
}

/** The part of koffi's API used here (declared locally: koffi is an optional dependency). */
interface KoffiLib {
  func(prototype: string): (...args: unknown[]) => unknown;
}

/** Library names tried in order, for this platform; bare names go through the dynamic loader's search. */
export function blasCandidates(platform: string = platformName()): string[] {
  if (platform === "darwin")
    return ["/System/Library/Frameworks/Accelerate.framework/Accelerate", "libopenblas.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", "/usr/local/opt/openblas/lib/libopenblas.dylib"];
  if (platform === "win32") return ["libopenblas.dll", "openblas.dll", "mkl_rt.2.dll", "mkl_rt.dll"];
  return ["libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libmkl_rt.so.2", "libmkl_rt.so", "libblis.so.4", "libblis.so"];
}

/** AUGERINO_BLAS_PATH's entries (separated by the platform's path delimiter), else `blasCandidates()`. */
function searchPath(): string[] {
  const env = envVar("AUGERINO_BLAS_PATH");
  if (env === undefined) return blasCandidates();
  const paths = env.split(platformName() === "win32" ? ";" : ":").filter((p) => p.trim() !== "");
  if (paths.length === 0) throw new Error(`AUGERINO_BLAS_PATH is set but names no library ("${env}"); unset it to search ${blasCandidates().join(", ")}`);
  return paths;
}

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;
/** Thread setters by library family; the first the library exports is used. */
const THREAD_SETTERS = ["openblas_set_num_threads", "MKL_Set_Num_Threads", "bli_thread_set_num_threads"];

let loaded: Blas | null | undefined;
/** Why no library was loaded (for the one-line hint), once the search ran. */
let missing = "";

/** The BLAS in use, or null (turned off, or none found); searches once. */
export function cpuBlas(): Blas | null {
  if (loaded !== undefined) return loaded;
  const env = envVar("AUGERINO_BLAS");
  if (env === "0") return (loaded = null);
  if (env) {
    loaded = openBlas(env);
    if (!loaded) throw new Error(`AUGERINO_BLAS=${env}: ${missing}`);
    return loaded;
  }
  const candidates = searchPath();
  for (const path of candidates) if ((loaded = openBlas(path))) return loaded;
  missing = `no BLAS library found (tried ${candidates.join(", ")})${missing ? `; last error: ${missing}` : ""}`;
  return (loaded = null);
}

let hinted = false;
/** Prints, once, why products run on the WebAssembly kernels when a BLAS would be faster. */
export function hintNoBlas(): void {
  // A page has no native library to install, so nothing to hint there.
  if (hinted || envVar("AUGERINO_BLAS") === "0" || !isNode) return;
  hinted = true;
  printDiagnostic(
    `augerino: ${missing}; float32/float64 products and convolutions run on the WebAssembly kernels. ` +
      `A platform BLAS makes them about 2-3x faster (Debian: apt install libopenblas0-pthread; macOS has Accelerate); ` +
      `AUGERINO_BLAS=/path/to/lib picks one, AUGERINO_BLAS=0 turns this path and this line off.\n`,
  );
}

function loadKoffi(): { load(path: string): KoffiLib } | null {
  const ffi = loadFfi<{ load(path: string): KoffiLib }>();
  if ("error" in ffi) {
    missing = ffi.error;
    return null;
  }
  return ffi.koffi;
}

/** Opens one library; null (with `missing` set) when it does not load or lacks cblas_sgemm/dgemm. */
function openBlas(path: string): Blas | null {
  const koffi = loadKoffi();
  if (!koffi) return null;
  let lib: KoffiLib;
  try {
    lib = koffi.load(path);
  } catch (e) {
    missing = `${path} did not load (${(e as Error).message.split("\n")[0]})`;
    return null;
  }
  const func = (proto: string) => {
    try {
      return lib.func(proto);
    } catch {
      return null;
    }
  };
  // Pointers as void *: koffi passes a typed array's memory in place, also a SharedArrayBuffer's (the wasm heaps).
  const args = "int order, int ta, int tb, int m, int n, int k, T alpha, const void *a, int lda, const void *b, int ldb, T beta, void *c, int ldc";
  const s = func(`void cblas_sgemm(${args.replaceAll("T ", "float ")})`);
  const d = func(`void cblas_dgemm(${args.replaceAll("T ", "double ")})`);
  if (!s || !d) {
    missing = `${path} has no cblas_sgemm/cblas_dgemm`;
    return null;
  }
  const setThreads = THREAD_SETTERS.map((name) => func(`void ${name}(int n)`)).find((f) => f !== null) ?? null;
  const config = func("const char *openblas_get_config()");
  let threads = 0;
  const wrap =
    <T extends FloatArray>(f: (...a: unknown[]) => unknown): Gemm<T> =>
    (transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta) => {
      const want = cpuThreads();
      if (setThreads && want !== threads) setThreads((threads = want));
      f(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, 1, a, lda, b, ldb, beta, c, ldc);
    };
  return { path, describe: config ? `${config()} (${path})` : path, sgemm: wrap(s), dgemm: wrap(d) };
}

/** Forgets the loaded library so the next `cpuBlas()` searches again (tests switch AUGERINO_BLAS). */
export function resetBlas(): void {
  loaded = undefined;
  missing = "";
  hinted = false;
}

/**
 * oneDNN (libdnnl, the library PyTorch's CPU convolutions run on) through koffi, for the CPU
 * backend's float32 convolutions. Found on first use: `AUGERINO_DNNL=path` names the
 * library, `AUGERINO_DNNL=0` turns the path off, otherwise the first of `dnnlCandidates()`
 * that loads and exports the oneDNN 2.x C API (op descriptors: `dnnl_*_desc_init`).
 * Without one, convolutions stay on the BLAS / WebAssembly paths, silently: oneDNN is an
 * optional speed-up on top of the BLAS, whose absence already prints a hint.
 *
 * oneDNN's descriptor structs are handled as opaque byte buffers (their sizes below are
 * upper bounds: 696 and 5976 bytes in the 2.6 headers), passed by pointer.
 *
 * Threads: Debian's build runs on OpenMP (libgomp); `omp_set_num_threads` on the calling
 * thread, set from the pool's `cpuThreads()` before a call whenever it changed, sizes the
 * team oneDNN's parallel regions get, and OMP_WAIT_POLICY defaults to passive (below).
 */
import { loadFfi } from "#platform/ffi";
import { cpuThreads } from "../wasm/pool.ts";
import { envVar, isNode, platformName } from "../../../env.ts";

/** Bytes reserved for a dnnl_memory_desc_t and a dnnl_convolution_desc_t (generous: their layouts are the library's). */
export const MEMORY_DESC_BYTES = 2048;
export const OP_DESC_BYTES = 16384;

/** Values from oneDNN 2.x's dnnl_types.h (checked against the 2.6.3 header). */
export const DNNL = {
  success: 0,
  f32: 3,
  cpuEngine: 1,
  streamDefault: 1,
  forwardInference: 96,
  backwardWeights: 192,
  convolutionDirect: 1,
  formatAny: 1,
  querySrcMd: 129,
  queryWeightsMd: 131,
  queryDiffWeightsMd: 132,
  queryDstMd: 133,
  queryDiffDstMd: 134,
  argSrc: 1,
  argDst: 17,
  argWeights: 33,
  argDiffDst: 145,
  argDiffWeights: 161,
} as const;

type Handle = unknown;
type Fn = (...args: unknown[]) => unknown;

export interface Dnnl {
  path: string;
  engine: Handle;
  stream: Handle;
  /** Fills a memory descriptor (a MEMORY_DESC_BYTES buffer) with f32 dims and element strides; false if rejected. */
  stridedDesc(dims: number[], strides: number[]): Uint8Array | null;
  /** A memory descriptor with the layout left to the primitive (format `any`). */
  anyDesc(dims: number[]): Uint8Array;
  /**
   * Creates a primitive from an op descriptor (its scratchpad the library's), with the
   * memory descriptors its implementation chose for the `queries` (DNNL.query*); null when
   * no implementation takes it.
   */
  primitive(opDesc: Uint8Array, queries?: number[]): { primitive: Handle; mds: Handle[] } | null;
  /** A reorder primitive from one memory descriptor's layout to another's. */
  reorder(from: Handle, to: Handle): Handle;
  /** Bytes a memory descriptor spans. */
  bytes(desc: Handle): number;
  memory(desc: Handle): Handle;
  setData(memory: Handle, data: ArrayBufferView): void;
  /** Runs a primitive on the library's stream, waiting for it; throws on failure. */
  execute(primitive: Handle, args: { arg: number; memory: Handle }[]): void;
  /** The OpenMP team size the next call gets (omp_get_max_threads on this thread), or null without an OpenMP runtime. */
  threads(): number | null;
  /** The bound functions, for the op descriptor initialisers. */
  fn: Record<string, Fn>;
}

interface KoffiLib {
  func(prototype: string): Fn;
}
interface Koffi {
  load(path: string): KoffiLib;
  struct(name: string, def: Record<string, string>): unknown;
}

/** Library names tried in order; bare names go through the dynamic loader's search. */
export function dnnlCandidates(platform: string = platformName()): string[] {
  if (platform === "darwin") return ["libdnnl.2.dylib", "libdnnl.dylib", "/opt/homebrew/lib/libdnnl.2.dylib", "/usr/local/lib/libdnnl.2.dylib"];
  if (platform === "win32") return ["dnnl.dll"];
  return ["libdnnl.so.2", "libdnnl.so.3", "libdnnl.so"];
}

/** OpenMP runtimes whose `omp_set_num_threads` sizes oneDNN's teams (the one libdnnl links is already loaded). */
const OPENMP = ["libgomp.so.1", "libiomp5.so", "libomp.so", "libomp.dylib", "libiomp5md.dll"];

let loaded: Dnnl | null | undefined;
let execArgDeclared = false;
/** Why no library was loaded, once the search ran. */
let missing = "";

/** oneDNN, or null (turned off, or none found); searches once. */
export function cpuDnnl(): Dnnl | null {
  if (loaded !== undefined) return loaded;
  const env = envVar("AUGERINO_DNNL");
  if (env === "0") {
    missing = "AUGERINO_DNNL=0";
    return (loaded = null);
  }
  if (env) {
    loaded = openDnnl(env);
    if (!loaded) throw new Error(`AUGERINO_DNNL=${env}: ${missing}`);
    return loaded;
  }
  const tried: string[] = [];
  for (const path of dnnlCandidates()) {
    if ((loaded = openDnnl(path))) return loaded;
    tried.push(missing);
  }
  missing = `no usable oneDNN library (${tried.join("; ")})`;
  return (loaded = null);
}

/** Why `cpuDnnl()` returned null ("" before the search). */
export function dnnlMissing(): string {
  return missing;
}

/** Forgets the loaded library so the next `cpuDnnl()` searches again. */
export function resetDnnl(): void {
  loaded = undefined;
  missing = "";
}

/**
 * OpenMP threads spin between parallel regions by default; on this 2-core machine, shared
 * with other processes and with our own worker pool, spinning took cores from the threads
 * doing work (the bench's conv forward and fwd+bwd ran about 2x slower on oneDNN than with
 * passive waits, and barely faster than the BLAS path). libgomp reads the setting when it
 * loads, with libdnnl, so it is set around the load (then removed again, so child
 * processes keep their own default), unless the user chose one.
 */
function passiveOpenMpWaits<T>(load: () => T): T {
  const proc = (globalThis as { process?: { env: Record<string, string | undefined> } }).process;
  if (!isNode || !proc || proc.env.OMP_WAIT_POLICY !== undefined) return load();
  proc.env.OMP_WAIT_POLICY = "passive";
  try {
    return load();
  } finally {
    // Read once, at load: child processes (a PyTorch peer, say) keep their own default.
    delete proc.env.OMP_WAIT_POLICY;
  }
}

/** dlopen's "never unload" flag, by platform (glibc's and Apple's dlfcn.h). */
const RTLD_NOW_NODELETE: Record<string, number> = { linux: 0x2 | 0x1000, darwin: 0x2 | 0x80 };
const DLOPEN_LIBS: Record<string, string[]> = { linux: ["libc.so.6", "libdl.so.2"], darwin: ["/usr/lib/libSystem.B.dylib"] };

/**
 * Opens the library once more with RTLD_NODELETE, so it (and the OpenMP runtime it links)
 * stays mapped to the end: koffi unloads its libraries when Node tears down, while
 * OpenMP's worker threads may still run runtime code (with OMP_WAIT_POLICY=active, every
 * exit crashed with SIGSEGV). Best effort: where dlopen cannot be bound, nothing is pinned.
 */
function pinLibrary(koffi: Koffi, path: string): void {
  const flags = RTLD_NOW_NODELETE[platformName()];
  for (const name of DLOPEN_LIBS[platformName()] ?? []) {
    try {
      koffi.load(name).func("void *dlopen(const char *file, int mode)")(path, flags);
      return;
    } catch {
      // The next library, else no pin.
    }
  }
}

function openDnnl(path: string): Dnnl | null {
  const ffi = loadFfi<Koffi>();
  if ("error" in ffi) {
    missing = ffi.error;
    return null;
  }
  const koffi = ffi.koffi;
  let lib: KoffiLib;
  try {
    lib = passiveOpenMpWaits(() => {
      pinLibrary(koffi, path);
      return koffi.load(path);
    });
  } catch (e) {
    missing = `${path} did not load (${(e as Error).message.split("\n")[0]})`;
    return null;
  }
  const bind = (l: KoffiLib, proto: string): Fn | null => {
    try {
      return l.func(proto);
    } catch {
      return null;
    }
  };
  // koffi's type names are process-wide: declared once, reused when a reset opens the library again.
  if (!execArgDeclared) koffi.struct("augerino_dnnl_exec_arg", { arg: "int", memory: "void *" });
  execArgDeclared = true;
  const protos: Record<string, string> = {
    engineCreate: "int dnnl_engine_create(_Out_ void **engine, int kind, size_t index)",
    streamCreate: "int dnnl_stream_create(_Out_ void **stream, void *engine, unsigned int flags)",
    streamWait: "int dnnl_stream_wait(void *stream)",
    mdStrides: "int dnnl_memory_desc_init_by_strides(void *md, int ndims, const int64_t *dims, int dtype, const int64_t *strides)",
    convFwd:
      "int dnnl_dilated_convolution_forward_desc_init(void *cd, int prop, int alg, const void *src, const void *wei, const void *bias, const void *dst, const int64_t *strides, const int64_t *dilates, const int64_t *pl, const int64_t *pr)",
    convBwdWeights:
      "int dnnl_dilated_convolution_backward_weights_desc_init(void *cd, int alg, const void *src, const void *diffWei, const void *diffBias, const void *diffDst, const int64_t *strides, const int64_t *dilates, const int64_t *pl, const int64_t *pr)",
    pdCreate: "int dnnl_primitive_desc_create(_Out_ void **pd, const void *opDesc, void *attr, void *engine, void *hint)",
    mdTag: "int dnnl_memory_desc_init_by_tag(void *md, int ndims, const int64_t *dims, int dtype, int tag)",
    pdDestroy: "int dnnl_primitive_desc_destroy(void *pd)",
    pdQueryMd: "void *dnnl_primitive_desc_query_md(void *pd, int what, int index)",
    mdEqual: "int dnnl_memory_desc_equal(const void *a, const void *b)",
    mdSize: "size_t dnnl_memory_desc_get_size(const void *md)",
    reorderPd: "int dnnl_reorder_primitive_desc_create(_Out_ void **pd, const void *src, void *srcEngine, const void *dst, void *dstEngine, void *attr)",
    primitiveCreate: "int dnnl_primitive_create(_Out_ void **primitive, void *pd)",
    memoryCreate: "int dnnl_memory_create(_Out_ void **memory, const void *md, void *engine, void *handle)",
    setHandle: "int dnnl_memory_set_data_handle(void *memory, void *handle)",
    execute: "int dnnl_primitive_execute(void *primitive, void *stream, int nargs, const augerino_dnnl_exec_arg *args)",
  };
  const fn: Record<string, Fn> = {};
  for (const [name, proto] of Object.entries(protos)) {
    const f = bind(lib, proto);
    if (!f) {
      missing = `${path} lacks ${proto.split("(")[0].split(" ").pop()} (the oneDNN 2.x C API is what is bound)`;
      return null;
    }
    fn[name] = f;
  }
  const openMp = OPENMP.map((name) => {
    try {
      const l = koffi.load(name);
      const set = bind(l, "void omp_set_num_threads(int n)");
      const get = bind(l, "int omp_get_max_threads()");
      return set && get ? { set, get } : null;
    } catch {
      return null;
    }
  }).find((f) => f !== null);
  const setThreads = openMp?.set;
  const out: Handle[] = [null];
  const check = (status: unknown, what: string) => {
    if (status !== DNNL.success) throw new Error(`oneDNN (${path}): ${what} failed with status ${status}`);
  };
  try {
    check(fn.engineCreate(out, DNNL.cpuEngine, 0), "dnnl_engine_create");
  } catch (e) {
    missing = (e as Error).message;
    return null;
  }
  const engine = out[0];
  check(fn.streamCreate(out, engine, DNNL.streamDefault), "dnnl_stream_create");
  const stream = out[0];
  let threads = 0;
  const i64 = (v: number[]) => BigInt64Array.from(v, BigInt);
  return {
    path,
    engine,
    stream,
    fn,
    anyDesc(dims) {
      const md = new Uint8Array(MEMORY_DESC_BYTES);
      check(fn.mdTag(md, dims.length, i64(dims), DNNL.f32, DNNL.formatAny), "dnnl_memory_desc_init_by_tag (any)");
      return md;
    },
    stridedDesc(dims, strides) {
      const md = new Uint8Array(MEMORY_DESC_BYTES);
      return fn.mdStrides(md, dims.length, i64(dims), DNNL.f32, i64(strides)) === DNNL.success ? md : null;
    },
    primitive(opDesc, queries = []) {
      const pdOut: Handle[] = [null];
      if (fn.pdCreate(pdOut, opDesc, null, engine, null) !== DNNL.success) return null;
      const pd = pdOut[0];
      const prim: Handle[] = [null];
      if (fn.primitiveCreate(prim, pd) !== DNNL.success) {
        fn.pdDestroy(pd);
        return null;
      }
      // The descriptor stays alive (primitives are cached for the process): the queried layouts point into it.
      return { primitive: prim[0], mds: queries.map((q) => fn.pdQueryMd(pd, q, 0)) };
    },
    reorder(from, to) {
      const pd: Handle[] = [null];
      check(fn.reorderPd(pd, from, engine, to, engine, null), "dnnl_reorder_primitive_desc_create");
      const prim: Handle[] = [null];
      try {
        check(fn.primitiveCreate(prim, pd[0]), "dnnl_primitive_create (reorder)");
      } finally {
        fn.pdDestroy(pd[0]);
      }
      return prim[0];
    },
    bytes: (desc) => Number(fn.mdSize(desc)),
    threads: () => (openMp ? (openMp.get() as number) : null),
    memory(desc) {
      const m: Handle[] = [null];
      check(fn.memoryCreate(m, desc, engine, null), "dnnl_memory_create");
      return m[0];
    },
    setData(memory, data) {
      check(fn.setHandle(memory, data), "dnnl_memory_set_data_handle");
    },
    execute(primitive, args) {
      const want = cpuThreads();
      if (setThreads && want !== threads) setThreads((threads = want));
      check(fn.execute(primitive, stream, args.length, args), "dnnl_primitive_execute");
      check(fn.streamWait(stream), "dnnl_stream_wait");
    },
  };
}

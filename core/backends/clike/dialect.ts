/**
 * The C-like kernel languages (WGSL and CUDA C) as one description, so each kernel family
 * is written once (kernels/*.ts here) and spelled by a dialect: declarations, types,
 * literals, casts, the invocation and group indices, barriers, workgroup memory, atomics
 * and buffer binding. Kernel bodies use the names `gi` (the element of one-per-element
 * kernels), `lid` (the invocation inside its group) and `grp` (the linear group index).
 * Statements shared by both languages (`if (...) { }`, `x += y;`, `for (...)` with a
 * dialect header, `break`, `continue`, array indexing, `atomicAdd(&a[i], v)`) are written
 * directly.
 */
import type { DType } from "../../dtype.ts";

/** A buffer a pass binds: the call's input i, output i, or scratch buffer i. */
export type Ref = { in: number } | { out: number } | { tmp: number };

/** A storage buffer of a kernel, bound in order. */
export interface Buf {
  name: string;
  dtype: DType;
  write?: boolean;
  /** Updated with integer atomics (WGSL declares such arrays `atomic<u32>`). */
  atomic?: boolean;
}

/** A compute pass in either language: `groups` groups of `threads` invocations. */
export interface ClikePass {
  code: string;
  bindings: Ref[];
  groups: number;
  threads: number;
}

export interface ClikeProgram {
  passes: ClikePass[];
  /** Scratch buffers the passes share, released after the call. */
  temps?: { dtype: DType; size: number }[];
}

/** What a whole module holds besides its body. */
export interface ModuleParts {
  bufs: Buf[];
  /** Invocations per group. */
  threads: number;
  body: string;
  /** Module-scope declarations placed after the buffers (a fused epilogue's function). */
  decls?: string[];
  /** Named helper functions the body calls (the dialect's own library). */
  helpers?: Iterable<string>;
  /** Functions defined for this kernel (written with `fn`). */
  fns?: string[];
  /** Per-invocation state the closures share (from `state`), declared before them. */
  state?: string[];
  /** Functions that read and write the state and the buffers (from `closure`). */
  closures?: string[];
  /** Group-shared arrays: name, element type (a dialect type name) and length. */
  shared?: [string, string, number][];
}

export interface Clike {
  readonly name: "wgsl" | "cuda";
  /** Invocations per group of one-per-element kernels. */
  readonly threads: number;
  /** Whether float atomicAdd exists (CUDA yes, WGSL no). */
  readonly floatAtomics: boolean;
  /** The storage type of `dtype` ("index" is the unsigned index type). */
  type(dtype: DType | "index"): string;
  /** The accumulator type a reduction of `dtype` sums in. */
  sumType(dtype: DType): DType;
  /** An exact literal of `dtype`. */
  literal(v: number | boolean, dtype: DType | "index"): string;
  /** `expr` converted to `to` (no-op when `from` is `to`). */
  cast(expr: string, from: DType | "index", to: DType | "index"): string;
  /** An immutable local. */
  let(name: string, dtype: DType | "index", expr: string): string;
  /** An immutable boolean local. */
  test(name: string, cond: string): string;
  /** A mutable local. */
  var(name: string, dtype: DType | "index", expr: string): string;
  /** `c ? t : f` (both sides are evaluated). */
  select(c: string, t: string, f: string): string;
  /** A boolean test of whether float `v` is NaN; records the helper it needs in `use`. */
  isNan(v: string, use: Set<string>): string;
  /** A loop header `for (k = init; cond; update)` (`update` is a statement such as `k += 1u`); `k` is unsigned unless `dtype` says. */
  loop(k: string, init: string, cond: string, update: string, dtype?: DType | "index"): string;
  /** A device function. */
  fn(name: string, params: [string, DType | "index"][], ret: DType | "index" | "bool", body: string): string;
  /** Per-invocation state: a scalar, or an array of `len`. */
  state(name: string, dtype: DType | "index", len?: number): string;
  /** A read-only module-scope array of `values` (literals). */
  table(name: string, dtype: DType | "index", values: string[]): string;
  /** A function over the invocation's state and buffers (WGSL: a module function; CUDA: a lambda in the kernel). */
  closure(name: string, params: [string, DType | "index"][], ret: DType | "index" | "void", body: string): string;
  /** A float math function of WGSL's name (abs, max, ldexp, log, sign) at `dtype`'s precision. */
  math(fn: "abs" | "max" | "ldexp" | "log" | "sign", dtype: DType, args: string[]): string;
  /** A boolean test of whether float `v` is infinite. */
  isInf(v: string, dtype: DType, use: Set<string>): string;
  /**
   * Element `i` of storage buffer `buf`. Every access to a buffer goes through these hooks,
   * so a dialect can route it elsewhere (WebGPU binds arrays over the binding limit as
   * several windows, webgpu/windows.ts).
   */
  ld(buf: string, i: string): string;
  /** The statement storing `v` at element `i` of storage buffer `buf`; with `op` ("+", "-", ...), combining it into the element (`buf[i] op= v`). */
  st(buf: string, i: string, v: string, op?: string): string;
  /** Atomic builtin `fn` (atomicAdd, ...) on element `i` of storage buffer `buf`, with further arguments `args`. */
  atomic(fn: string, buf: string, i: string, args: string[]): string;
  /** The element count of buffer `name` read at run time, or null where it must be a constant. */
  runtimeLength(name: string): string | null;
  /** An unsigned zero the compiler cannot see through (keeps loops it bounds from being unrolled). */
  readonly opaqueZero: string;
  /** The group-wide barrier statement. */
  readonly barrier: string;
  /** One storage word reinterpreted as another 32-bit dtype. */
  bitcast(expr: string, from: DType, to: DType): string;
  /**
   * The body of a kernel running `body` once per `gi` in [0, n), and its group count. The
   * body may sit inside a loop, so it never `return`s. `invariant`: statements that do not
   * depend on `gi` (a scalar input's load), run once per invocation before any element.
   */
  perElement(n: number, body: string, invariant?: string): { body: string; groups: number };
  /**
   * Like `perElement`, with each group inside one block of `inner` consecutive elements
   * (`n` is a multiple of it), whose first element is `gb`: `invariant` may read `gb`
   * (through indices of the axes before the block, the same for all its elements) and runs
   * once per invocation. Absent where a dialect has no such layout.
   */
  perBlock?(n: number, inner: number, body: string, invariant: string): { body: string; groups: number };
  /** A whole module. */
  module(parts: ModuleParts): string;
}

/**
 * How a product kernel (dot, convolution) writes its output: plainly, or through a fused
 * epilogue (webgpu/render-wgsl.ts `withEpilogue`). Every write of output 0 goes through `store`.
 */
export interface OutputStore {
  /** The statement storing `value` at flat element `index` (unsigned expressions) of output 0, in dialect `d`. */
  store(d: Clike, index: string, value: string): string;
  /** Storage buffers the stores read, bound after the pass's own. */
  bufs: Buf[];
  /** Module-scope functions the stores call, in dialect `d`. */
  decls(d: Clike): string;
  /** The buffers of those bindings. */
  bindings: Ref[];
}

export const PLAIN_STORE: OutputStore = { store: (d, i, v) => d.st("out", i, v), bufs: [], decls: () => "", bindings: [] };

/** Storage accesses as both languages spell them without windows: plain indexing. */
export const PLAIN_ACCESS: Pick<Clike, "ld" | "st" | "atomic"> = {
  ld: (b, i) => `${b}[${i}]`,
  st: (b, i, v, op = "") => `${b}[${i}] ${op}= ${v};`,
  atomic: (fn, b, i, args) => `${fn}(&${b}[${i}]${args.map((a) => `, ${a}`).join("")})`,
};

/** Groups of `threads` covering `n` invocations (at least one, so empty launches stay valid). */
export const groupsFor = (n: number, threads: number) => Math.max(1, Math.ceil(n / threads));

/**
 * The statements folding `threads` partial results of a group into slot 0: `combine` is a
 * statement merging slot `lid + s` into slot `lid`; every invocation has written its slot.
 */
export function treeFold(d: Clike, threads: number, combine: string): string {
  return `  ${d.barrier}
  ${d.loop("s", `${threads / 2}u`, "s > 0u", "s >>= 1u")} {
    if (lid < s) { ${combine} }
    ${d.barrier}
  }`;
}

/**
 * A one-pass program of one-per-element `body` over [0, n), after the statements `invariant`
 * that do not depend on `gi`; with `inner`, in blocks of that many elements (`perBlock`, which
 * the dialect must have), where `invariant` may also read the block's first element `gb`.
 */
export function elementwise(d: Clike, bufs: Buf[], bindings: Ref[], n: number, body: string, helpers: Iterable<string> = [], fns: string[] = [], invariant = "", inner?: number): ClikePass {
  if (inner !== undefined && !d.perBlock) throw new Error("elementwise: this dialect has no block layout (perBlock)");
  const e = inner === undefined ? d.perElement(n, body, invariant) : d.perBlock!(n, inner, body, invariant);
  return { code: d.module({ bufs, threads: d.threads, body: e.body, helpers, fns }), bindings, groups: e.groups, threads: d.threads };
}

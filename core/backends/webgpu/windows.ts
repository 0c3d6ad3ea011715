/**
 * Arrays larger than one storage binding (maxStorageBufferBindingSize, 128 MiB on lavapipe)
 * live in one buffer (up to maxBufferSize) and are bound as several windows of it: bind
 * group entries with an aligned offset and a size. A pass binding such an array is rendered
 * again (`Pass.render`) in a WGSL dialect whose storage hooks reach every array through
 * accessors that pick the window from the element index:
 *
 *   d.ld("x", i)                        -> ld_x(u32(i))
 *   d.st("out", i, v)                   -> st_out(u32(i), v);
 *   d.st("out", i, v, "+")              -> st_out(u32(i), ld_out(u32(i)) + (v));
 *   d.atomic("atomicAdd", "c", i, [v])  -> atomicAdd_c(u32(i), v)
 *   d.runtimeLength("x")                -> len_x(), the element count as a constant
 *
 * Kernels are written once, over the dialect's hooks; only passes that bind an oversized
 * buffer are rendered this way, so every other pass keeps its source (and its cached
 * pipeline). In such a pass every array is declared as windows `name_w0`, `name_w1`, ...,
 * so an access that bypassed the hooks fails to compile instead of reading the wrong window.
 *
 * @example
 * const w = windowedPass(pass, [200 << 20, 4 << 20], { windowBytes: 128 << 20, maxBindings: 16 }, () => "exp");
 * // w.code binds x_w0, x_w1 and out_w0; w.slots says which buffer range each binding takes.
 */
import { wgslDialect, type Wgsl } from "../clike/wgsl.ts";
import type { Pass } from "./program.ts";

/** The device limits windowing works within. */
export interface WindowLimits {
  /** Bytes per window: the binding limit, rounded down to the offset alignment and to 16 (vec4 elements). */
  windowBytes: number;
  /** Storage bindings a shader stage may declare (maxStorageBuffersPerShaderStage). */
  maxBindings: number;
}

/** One binding of the windowed pass: range [offset, offset + size) of the buffer of `pass.bindings[binding]`. */
export interface Slot {
  binding: number;
  offset: number;
  size: number;
}

export interface WindowedPass {
  code: string;
  slots: Slot[];
}

/** The window size for a device: the largest binding that starts windows at aligned offsets. */
export function windowLimits(limits: GPUSupportedLimits): WindowLimits {
  const q = Math.max(16, limits.minStorageBufferOffsetAlignment);
  const bindingBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  return { windowBytes: Math.floor(bindingBytes / q) * q, maxBindings: limits.maxStorageBuffersPerShaderStage };
}

/** How many bindings a buffer of `bytes` takes. */
export function windowCount(bytes: number, lim: WindowLimits): number {
  return Math.max(1, Math.ceil(bytes / lim.windowBytes));
}

/** The storage bindings a pass over buffers of `bytes` (one per `pass.bindings` entry) declares once windowed. */
export function bindingCount(bytes: readonly number[], lim: WindowLimits): number {
  return bytes.reduce((acc, b) => acc + windowCount(b, lim), 0);
}

const elemBytes = (type: string) => (type.startsWith("vec4<") ? 16 : type.startsWith("vec2<") ? 8 : 4);

const cache = new WeakMap<Pass, Map<string, WindowedPass>>();

/**
 * `pass` rebound over buffers of `bytes`: each buffer over the window size as several
 * windows. Throws, naming the kernel (`what`), the sizes and the limits, where the pass would
 * need more bindings than the device allows or uses a windowed array in a way windows cannot serve.
 */
export function windowedPass(pass: Pass, bytes: readonly number[], lim: WindowLimits, what: () => string): WindowedPass {
  const counts = bytes.map((b) => windowCount(b, lim));
  if (counts.every((c) => c === 1)) return { code: pass.code, slots: bytes.map((size, binding) => ({ binding, offset: 0, size })) };
  const total = counts.reduce((a, b) => a + b, 0);
  if (total > lim.maxBindings) {
    const big = bytes.filter((_, k) => counts[k] > 1).join(", ");
    throw new Error(
      `webgpu: ${what()}: arrays of ${big} bytes exceed the ${lim.windowBytes}-byte storage binding limit, and binding them as windows needs ${total} storage buffers, more than this adapter's ${lim.maxBindings} per shader stage; split the computation into smaller arrays`,
    );
  }
  let byBytes = cache.get(pass);
  if (!byBytes) cache.set(pass, (byBytes = new Map()));
  const key = `${lim.windowBytes}|${bytes.join(",")}`;
  let w = byBytes.get(key);
  if (!w) {
    w = { code: pass.render(windowedWgsl(bytes, lim, what)), slots: slotsOf(bytes, counts, lim) };
    byBytes.set(key, w);
  }
  return w;
}

function slotsOf(bytes: readonly number[], counts: number[], lim: WindowLimits): Slot[] {
  return bytes.flatMap((b, binding) =>
    [...Array(counts[binding]).keys()].map((j) => {
      const offset = j * lim.windowBytes;
      return { binding, offset, size: Math.min(lim.windowBytes, b - offset) };
    }),
  );
}

/** Atomic read-modify-write builtins: (pointer, value) -> the old value. */
const ATOMIC_RMW = ["atomicAdd", "atomicSub", "atomicMax", "atomicMin", "atomicAnd", "atomicOr", "atomicXor", "atomicExchange"];

interface Windows {
  name: string;
  count: number;
  /** Elements per window. */
  per: number;
}

/** An accessor's statements over index `i`: `access(window, index in it)` in the window holding i. */
function dispatch({ name, count, per }: Windows, access: (w: string, at: string) => string): string {
  return [...Array(count).keys()]
    .map((j) => {
      const s = access(`${name}_w${j}`, j === 0 ? "i" : `i - ${(j * per) >>> 0}u`);
      return j === count - 1 ? `  ${s}` : `  if (i < ${((j + 1) * per) >>> 0}u) { ${s} }`;
    })
    .join("\n");
}

/** The accessors of an array of `elem`: atomic builtins for atomic arrays, else `ld_` and, if writable, `st_`. */
function accessors(w: Windows, elem: string, write: boolean): string[] {
  if (elem.startsWith("atomic<")) {
    const t = elem.slice("atomic<".length, -1);
    return [
      ...ATOMIC_RMW.map((fn) => `fn ${fn}_${w.name}(i: u32, v: ${t}) -> ${t} {\n${dispatch(w, (a, at) => `return ${fn}(&${a}[${at}], v);`)}\n}`),
      `fn atomicLoad_${w.name}(i: u32) -> ${t} {\n${dispatch(w, (a, at) => `return atomicLoad(&${a}[${at}]);`)}\n}`,
      `fn atomicStore_${w.name}(i: u32, v: ${t}) {\n${dispatch(w, (a, at) => `atomicStore(&${a}[${at}], v); return;`)}\n}`,
    ];
  }
  const ld = `fn ld_${w.name}(i: u32) -> ${elem} {\n${dispatch(w, (a, at) => `return ${a}[${at}];`)}\n}`;
  return write ? [ld, `fn st_${w.name}(i: u32, v: ${elem}) {\n${dispatch(w, (a, at) => `${a}[${at}] = v; return;`)}\n}`] : [ld];
}

/**
 * The WGSL dialect of a pass whose binding k is a buffer of `bytes[k]`: each binding is
 * declared as its windows, numbered on from the windows of the bindings before it, and
 * reached through accessors. `what` names the kernel in errors.
 */
export function windowedWgsl(bytes: readonly number[], lim: WindowLimits, what: () => string): Wgsl {
  const counts = bytes.map((b) => windowCount(b, lim));
  const first = counts.map((_, k) => counts.slice(0, k).reduce((a, b) => a + b, 0));
  const atomics = new Set([...ATOMIC_RMW, "atomicLoad", "atomicStore"]);
  const args = (xs: string[]) => xs.map((a) => `, ${a}`).join("");
  return wgslDialect({
    ld: (b, i) => `ld_${b}(u32(${i}))`,
    st: (b, i, v, op) => `st_${b}(u32(${i}), ${op ? `ld_${b}(u32(${i})) ${op} (${v})` : v});`,
    atomic(fn, b, i, xs) {
      if (!atomics.has(fn)) {
        throw new Error(
          `webgpu: ${what()}: its arrays of ${bytes.join(", ")} bytes exceed the ${lim.windowBytes}-byte storage binding limit, and the kernel calls ${fn} on the elements of \`${b}\`, which windows of the array cannot serve; split the computation into smaller arrays`,
        );
      }
      return `${fn}_${b}(u32(${i})${args(xs)})`;
    },
    runtimeLength: (n) => `len_${n}()`,
    storage(k, name, elem, write) {
      const size = elemBytes(elem);
      // The program's other passes render alongside this one (and are discarded): bindings past this pass's are whole.
      const whole = k >= counts.length;
      const w = { name, count: whole ? 1 : counts[k], per: lim.windowBytes / size };
      const mode = write ? "read_write" : "read";
      const at = whole ? k : first[k];
      const decls = [...Array(w.count).keys()].map((j) => `@group(0) @binding(${at + j}) var<storage, ${mode}> ${name}_w${j}: array<${elem}>;`);
      const len = whole ? `arrayLength(&${name}_w0)` : `${Math.floor(bytes[k] / size) >>> 0}u`;
      return [...decls, ...accessors(w, elem, write), `fn len_${name}() -> u32 { return ${len}; }`].join("\n");
    },
  });
}

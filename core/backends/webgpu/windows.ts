/**
 * Arrays larger than one storage binding (maxStorageBufferBindingSize, 128 MiB on lavapipe)
 * live in one buffer (up to maxBufferSize) and are bound as several windows of it: bind
 * group entries with an aligned offset and a size. The pass's WGSL is rewritten so that
 * every access to such an array goes through accessors that pick the window from the
 * element index:
 *
 *   x[i]                 -> ld_x(u32(i))
 *   out[i] = v;          -> st_out(u32(i), v);
 *   atomicAdd(&c[i], v)  -> atomicAdd_c(u32(i), v)
 *   arrayLength(&x)      -> the element count, a constant
 *
 * Kernels are written once, over plain arrays; the rewrite runs only on passes that bind an
 * oversized buffer, so every other pass keeps its source (and its cached pipeline) as is.
 * Accesses are found by the binding's name, which every kernel declares in the standard
 * form of `binding()` (wgsl.ts); a pass that uses a windowed array any other way (a pointer
 * outside an atomic call, a store to one component) is refused with the reason instead of
 * miscompiled.
 *
 * @example
 * const w = windowedPass(pass, [200 << 20, 4 << 20], { windowBytes: 128 << 20, maxBindings: 16 }, () => "exp");
 * // w.code binds x_w0, x_w1 and out; w.slots says which buffer range each binding takes.
 */
import type { Pass } from "./program.ts";

/** The device limits windowing works within. */
export interface WindowLimits {
  /** Bytes per window: the binding limit, rounded down to the offset alignment and to 16 (vec4 elements). */
  windowBytes: number;
  /** Storage bindings a shader stage may declare (maxStorageBuffersPerShaderStage). */
  maxBindings: number;
}

/** One binding of the rewritten pass: range [offset, offset + size) of the buffer of `pass.bindings[binding]`. */
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

/** `@group(0) @binding(k) var<storage, mode> name: array<T>;`, as `binding()` in wgsl.ts writes it. */
const DECL = /@group\(0\) @binding\((\d+)\) var<storage, (read|read_write)> (\w+): array<(.+?)>;/g;

interface Decl {
  mode: string;
  name: string;
  type: string;
}

const elemBytes = (type: string) => (/^vec4</.test(type) ? 16 : /^vec2</.test(type) ? 8 : 4);

const cache = new WeakMap<Pass, Map<string, WindowedPass>>();

/**
 * `pass` rebound over buffers of `bytes`: each buffer over the window size as several
 * windows. Throws, naming the kernel (`what`), the sizes and the limits, where the pass would
 * need more bindings than the device allows or uses a windowed array other than by element.
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
    w = { code: rewritePass(pass, bytes, counts, lim, what), slots: slotsOf(bytes, counts, lim) };
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

function rewritePass(pass: Pass, bytes: readonly number[], counts: number[], lim: WindowLimits, what: () => string): string {
  const decls = new Map<number, Decl>();
  for (const m of pass.code.matchAll(DECL)) decls.set(Number(m[1]), { mode: m[2], name: m[3], type: m[4] });
  const first = counts.map((_, k) => counts.slice(0, k).reduce((a, b) => a + b, 0));
  const windowed = new Map<string, { decl: Decl; count: number; bytes: number }>();
  for (let k = 0; k < pass.bindings.length; k++) {
    const d = decls.get(k);
    if (!d) throw new Error(`webgpu: ${what()}: cannot bind arrays over the storage binding limit: binding ${k} is not declared as \`var<storage, mode> name: array<T>\``);
    if (counts[k] > 1) windowed.set(d.name, { decl: d, count: counts[k], bytes: bytes[k] });
  }
  let code = pass.code.replace(DECL, (_, k: string, mode: string, name: string, type: string) => {
    const n = Number(k);
    if (counts[n] === 1) return `@group(0) @binding(${first[n]}) var<storage, ${mode}> ${name}: array<${type}>;`;
    return [...Array(counts[n]).keys()].map((j) => `@group(0) @binding(${first[n] + j}) var<storage, ${mode}> ${name}_w${j}: array<${type}>;`).join("\n");
  });
  for (const [name, w] of windowed) code = code.replace(new RegExp(`arrayLength\\(&\\s*${name}\\)`, "g"), `${Math.floor(w.bytes / elemBytes(w.decl.type)) >>> 0}u`);
  const refuse = (name: string, why: string): never => {
    throw new Error(
      `webgpu: ${what()}: its array \`${name}\` (${windowed.get(name)!.bytes} bytes) exceeds the ${lim.windowBytes}-byte storage binding limit, and the kernel ${why}, which windows of the array cannot serve; split the computation into smaller arrays`,
    );
  };
  const { code: rewritten, atomics } = rewriteAccesses(code, [...windowed.keys()], refuse);
  const accessors = [...windowed].map(([name, { decl, count }]) => {
    const w = { name, count, per: lim.windowBytes / elemBytes(decl.type) };
    const atomic = /^atomic<(\w+)>$/.exec(decl.type);
    if (!atomic) return plainAccessors(w, decl);
    return [...(atomics.get(name) ?? [])].map((fn) => atomicAccessor(w, fn, atomic[1], refuse)).join("\n");
  });
  return `${rewritten}\n${accessors.join("\n")}\n`;
}

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

/** `ld_name`, and `st_name` for writable arrays. */
function plainAccessors(w: Windows, d: Decl): string {
  const ld = `fn ld_${w.name}(i: u32) -> ${d.type} {\n${dispatch(w, (a, at) => `return ${a}[${at}];`)}\n}`;
  if (d.mode !== "read_write") return ld;
  return `${ld}\nfn st_${w.name}(i: u32, v: ${d.type}) {\n${dispatch(w, (a, at) => `${a}[${at}] = v; return;`)}\n}`;
}

/** Atomic read-modify-write builtins: (pointer, value) -> the old value. */
const ATOMIC_RMW = new Set(["atomicAdd", "atomicSub", "atomicMax", "atomicMin", "atomicAnd", "atomicOr", "atomicXor", "atomicExchange"]);

/** `fn_name(i, ...)`: the atomic builtin `fn` on element i of an array of atomic<t>. */
function atomicAccessor(w: Windows, fn: string, t: string, refuse: (name: string, why: string) => never): string {
  if (ATOMIC_RMW.has(fn)) return `fn ${fn}_${w.name}(i: u32, v: ${t}) -> ${t} {\n${dispatch(w, (a, at) => `return ${fn}(&${a}[${at}], v);`)}\n}`;
  if (fn === "atomicLoad") return `fn ${fn}_${w.name}(i: u32) -> ${t} {\n${dispatch(w, (a, at) => `return atomicLoad(&${a}[${at}]);`)}\n}`;
  if (fn === "atomicStore") return `fn ${fn}_${w.name}(i: u32, v: ${t}) {\n${dispatch(w, (a, at) => `atomicStore(&${a}[${at}], v); return;`)}\n}`;
  return refuse(w.name, `calls ${fn} on its elements`);
}

/** Index of the `close` matching the `src[open]` opener, or -1. */
function matching(src: string, open: number, close: "]" | "}"): number {
  const opener = src[open];
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === opener) depth++;
    else if (src[i] === close && --depth === 0) return i;
  }
  return -1;
}

/** Index of the bracket closing the one at `open`. */
function closing(src: string, open: number): number {
  const i = matching(src, open, "]");
  if (i < 0) throw new Error(`webgpu: unbalanced brackets in kernel source at ${open}`);
  return i;
}

/** Index of the first `end` (";" or ")") outside brackets from `from`: the end of a statement, or of a call's arguments. */
function endOf(src: string, from: number, end: ";" | ")"): number {
  let depth = 0;
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (c === end && depth === 0) return i;
    if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
  }
  throw new Error(`webgpu: unterminated ${end === ";" ? "statement" : "call"} in kernel source at ${from}`);
}

/** A plain or compound assignment right after an element access. */
const ASSIGN = /^\s*([-+*/%&|^]?)=(?!=)/;
/** An assignment to a component of an element (`x[i].y = v`), which an accessor cannot take. */
const COMPONENT_ASSIGN = /^\s*(\.\w+|\[[^\]]*\])+\s*[-+*/%&|^]?=(?!=)/;

/**
 * `src` with element accesses to the arrays `names` replaced by accessor calls, and, per
 * array, the atomic builtins called on its elements (their accessors are `atomicOp_name`);
 * `refuse` throws for a use the accessors cannot express.
 */
export function rewriteAccesses(src: string, names: string[], refuse: (name: string, why: string) => never): { code: string; atomics: Map<string, Set<string>> } {
  const atomics = new Map<string, Set<string>>();
  if (names.length === 0) return { code: src, atomics };
  // Not after a ".": `wid.x` is a member, not the array `x`.
  const re = new RegExp(`(?<![\\w.])(${names.join("|")})\\[`, "g");
  const rewrite = (s: string): string => {
    let out = "";
    let p = 0;
    for (;;) {
      // The recursive calls below move `re` on, so each search starts afresh from p.
      re.lastIndex = p;
      const m = re.exec(s);
      if (!m) break;
      const name = m[1];
      const head = s.slice(p, m.index);
      const open = m.index + name.length;
      const close = closing(s, open);
      const index = `u32(${rewrite(s.slice(open + 1, close))})`;
      const call = /(atomic\w+)\(\s*&\s*$/.exec(head);
      if (call) {
        const end = endOf(s, close + 1, ")");
        out += `${head.slice(0, call.index)}${call[1]}_${name}(${index}${rewrite(s.slice(close + 1, end))})`;
        if (!atomics.has(name)) atomics.set(name, new Set());
        atomics.get(name)!.add(call[1]);
        p = end + 1;
        continue;
      }
      if (/(^|[^&])&\s*$/.test(head)) refuse(name, "takes a pointer to one of its elements");
      const rest = s.slice(close + 1);
      if (COMPONENT_ASSIGN.test(rest)) refuse(name, "assigns to a component of an element");
      const assign = ASSIGN.exec(rest);
      if (assign) {
        const from = close + 1 + assign[0].length;
        const end = endOf(s, from, ";");
        const value = rewrite(s.slice(from, end)).trim();
        out += `${head}st_${name}(${index}, ${assign[1] ? `ld_${name}(${index}) ${assign[1]} (${value})` : value})`;
        p = end;
      } else {
        out += `${head}ld_${name}(${index})`;
        p = close + 1;
      }
    }
    return out + s.slice(p);
  };
  for (const name of names) if (shadowed(src, name)) refuse(name, "declares a local of the same name where it indexes the array");
  const code = rewrite(src);
  // WGSL uses a runtime-sized array only by element or by pointer, so any other mention of
  // the name is a local or a parameter (helpers' `x`) and is left alone.
  for (const name of names) if (new RegExp(`&\\s*${name}\\b`).test(code)) refuse(name, "takes a pointer to the array");
  return { code, atomics };
}

/**
 * Whether a function of `src` both declares `name` (a parameter or a local) and indexes
 * `name[`: the index might then be the local's, which the rewrite cannot tell apart.
 */
function shadowed(src: string, name: string): boolean {
  const declares = new RegExp(`(\\b(let|var|const)\\s+${name}\\b|[(,]\\s*${name}\\s*:)`);
  const indexes = new RegExp(`(?<![\\w.])${name}\\[`);
  for (const m of src.matchAll(/\bfn\s+\w+\s*\(/g)) {
    const open = src.indexOf("{", m.index);
    if (open < 0) break;
    const end = matching(src, open, "}");
    const text = src.slice(m.index, end < 0 ? src.length : end + 1);
    if (declares.test(text) && indexes.test(text)) return true;
  }
  return false;
}

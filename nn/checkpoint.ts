/**
 * Checkpoints in the safetensors format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian u64 header length N, N bytes of JSON header padded with
 * spaces to a multiple of 8, then the tensors' raw little-endian bytes.
 *
 * Tensor names are pytree paths ("w.layers.0.kernel"; "." and "%" inside keys are
 * percent-escaped so names stay unique). The nesting itself (objects, JS arrays,
 * null) is stored in `__metadata__["augerino.tree"]` as JSON with each leaf replaced
 * by its tensor name, so `load` rebuilds exactly the tree that was saved. Files
 * written by other tools (no such entry) load as a flat `{ name: array }` object.
 * `saveBytes`/`loadBytes` do the same in memory (a browser's downloads, uploads, IndexedDB);
 * `save`/`load` write and read files (Node).
 */
import { readFileBytes, writeFileAtomic } from "#platform/files";
import { checkOptions } from "../core/options.ts";
import { fromTyped } from "../core/array.ts";
import { bytesPer, typedArrayFrom, type DType } from "../core/dtype.ts";
import { sizeOf } from "../core/shape.ts";
import { Tracer } from "../core/tracer.ts";
import type { PyTree } from "../core/tree.ts";

const TO_SAFETENSORS: Record<DType, string> = { float32: "F32", float64: "F64", int32: "I32", uint32: "U32", bool: "BOOL" };
const FROM_SAFETENSORS: Record<string, DType> = Object.fromEntries(Object.entries(TO_SAFETENSORS).map(([k, v]) => [v, k as DType]));
const TREE_KEY = "augerino.tree";
// Python's safetensors refuses headers above 100 MB; a larger length means a corrupt file.
const MAX_HEADER = 100_000_000;

/** JSON skeleton of a pytree: a leaf is its tensor name, `false` stands for undefined (JSON has none). */
type Skeleton = string | null | false | Skeleton[] | { [key: string]: Skeleton };

interface Entry {
  name: string;
  array: Tracer;
}

function checkHostEndianness(what: string): void {
  // TypedArrays use the host byte order and safetensors is little-endian; every platform Node and browsers ship on is LE.
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new Error(`${what}: safetensors is little-endian and this host is big-endian; not supported`);
}

// Injective: after escaping, "." only separates segments and "%" only starts an escape.
// "__metadata__" is the header's own key, so a parameter of that name is escaped too.
const escapeKey = (k: string) => (k === "__metadata__" ? "%5F_metadata__" : k.replace(/%/g, "%25").replace(/\./g, "%2E"));

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Walks the tree (keys sorted, like tree.flatten), naming each leaf by its path. */
function describeTree(tree: PyTree, what: string): [Skeleton, Entry[]] {
  const entries: Entry[] = [];
  const walk = (x: unknown, names: string[]): Skeleton => {
    if (x === null) return null;
    if (x === undefined) return false;
    if (Array.isArray(x)) return x.map((c, i) => walk(c, [...names, String(i)]));
    if (isPlainObject(x)) {
      const out: Record<string, Skeleton> = {};
      for (const k of Object.keys(x).sort()) out[k] = walk(x[k], [...names, escapeKey(k)]);
      return out;
    }
    // A lone array (no path) still needs a name.
    const name = names.length === 0 ? "root" : names.join(".");
    if (!(x instanceof Tracer)) {
      throw new TypeError(`${what}: the leaf at "${name}" is a ${typeof x} (${String(x)}), not an array; wrap numbers with np.array(...)`);
    }
    entries.push({ name, array: x });
    return name;
  };
  return [walk(tree, []), entries];
}

/**
 * A pytree of arrays as the bytes of a safetensors file (readable by Python's
 * `safetensors.numpy.load`). Async because reading device data is.
 * @example
 * const bytes = await nn.saveBytes({ w: params, theta });
 * const restored = await nn.loadBytes(bytes); // same nesting
 */
export async function saveBytes(tree: PyTree, opts: { metadata?: Record<string, string> } = {}): Promise<Uint8Array<ArrayBuffer>> {
  checkOptions("nn.saveBytes", opts, ["metadata"]);
  return serialize("nn.saveBytes", tree, opts.metadata);
}

/**
 * Writes a pytree of arrays to `path` as safetensors (readable by Python's
 * `safetensors.numpy.load_file`). Async because reading device data is. Node only; in a
 * browser use `saveBytes`.
 * The file is written beside the target and renamed, so a crash never leaves half a checkpoint.
 * @example
 * await nn.save("ckpt/model.safetensors", { w: params, theta, step: np.array(10, { dtype: "int32" }) });
 * const restored = await nn.load("ckpt/model.safetensors"); // same nesting
 */
export async function save(path: string, tree: PyTree, opts: { metadata?: Record<string, string> } = {}): Promise<void> {
  checkOptions("nn.save", opts, ["metadata"]);
  await writeFileAtomic(path, await serialize(`nn.save(${path})`, tree, opts.metadata));
}

async function serialize(what: string, tree: PyTree, metadata: Record<string, string> | undefined): Promise<Uint8Array<ArrayBuffer>> {
  checkHostEndianness(what);
  const [skeleton, entries] = describeTree(tree, what);
  // Widest elements first keeps every tensor naturally aligned in the file (as Python's writer does).
  entries.sort((a, b) => bytesPer(b.array.dtype) - bytesPer(a.array.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const datas = await Promise.all(entries.map((e) => e.array.data()));

  const header: Record<string, unknown> = { __metadata__: { ...metadata, format: "augerino", [TREE_KEY]: JSON.stringify(skeleton) } };
  let offset = 0;
  entries.forEach((e, i) => {
    const n = datas[i].byteLength;
    header[e.name] = { dtype: TO_SAFETENSORS[e.array.dtype], shape: e.array.shape, data_offsets: [offset, offset + n] };
    offset += n;
  });

  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const d of datas) {
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

interface TensorInfo {
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** Validates one header entry; every failure names the file, the tensor and the problem. */
function parseTensorInfo(path: string, name: string, raw: unknown): TensorInfo {
  const fail = (what: string) => new Error(`nn.load(${path}): tensor "${name}" ${what}`);
  if (!isPlainObject(raw)) throw fail(`has header entry ${JSON.stringify(raw)}, expected { dtype, shape, data_offsets }`);
  const st = raw.dtype;
  if (typeof st !== "string" || !Object.hasOwn(FROM_SAFETENSORS, st)) {
    throw fail(`has unknown dtype ${JSON.stringify(st)}; augerino reads ${Object.keys(FROM_SAFETENSORS).join(", ")}`);
  }
  const dtype = FROM_SAFETENSORS[st];
  const shape = raw.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw fail(`has shape ${JSON.stringify(shape)}, expected a list of non-negative integers`);
  }
  const offs = raw.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
    throw fail(`has data_offsets ${JSON.stringify(offs)}, expected [begin, end] with 0 <= begin <= end`);
  }
  const need = sizeOf(shape) * bytesPer(dtype);
  if (offs[1] - offs[0] !== need) {
    throw fail(`has data_offsets [${offs}] spanning ${offs[1] - offs[0]} bytes, but ${st} of shape [${shape}] needs ${need}`);
  }
  return { dtype, shape: shape as number[], begin: offs[0], end: offs[1] };
}

/** Parses the header, failing with a message that names the file and what is wrong. */
function parseHeader(path: string, buf: Uint8Array): { infos: Map<string, TensorInfo>; metadata: Record<string, unknown>; dataStart: number } {
  if (buf.length < 8) throw new Error(`nn.load(${path}): truncated file: ${buf.length} bytes, fewer than the 8-byte header length`);
  const n = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(buf.length - 8) || n > BigInt(MAX_HEADER) || n < 2n) {
    throw new Error(`nn.load(${path}): bad header length ${n}: the file has ${buf.length - 8} bytes after the 8-byte length (truncated, or not a safetensors file)`);
  }
  const dataStart = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, dataStart)));
  } catch (e) {
    throw new Error(`nn.load(${path}): the header does not parse as JSON (${(e as Error).message}); the file is corrupt or not safetensors`, { cause: e });
  }
  if (!isPlainObject(header)) throw new Error(`nn.load(${path}): the header is ${JSON.stringify(header)?.slice(0, 40)}, expected a JSON object`);
  const metadata = header.__metadata__ ?? {};
  if (!isPlainObject(metadata)) throw new Error(`nn.load(${path}): __metadata__ must be an object of strings`);
  const infos = new Map<string, TensorInfo>();
  for (const [name, raw] of Object.entries(header)) if (name !== "__metadata__") infos.set(name, parseTensorInfo(path, name, raw));

  const dataLen = buf.length - dataStart;
  const sorted = [...infos.values()].sort((a, b) => a.begin - b.begin);
  const contiguous = sorted.every((t, i) => t.begin === (i === 0 ? 0 : sorted[i - 1].end));
  const total = sorted.length ? sorted[sorted.length - 1].end : 0;
  // A well-formed layout that runs past the end of the file means the file was cut short.
  if (contiguous && total > dataLen) {
    throw new Error(`nn.load(${path}): truncated file: the header describes ${total} bytes of tensor data but only ${dataLen} follow it`);
  }
  for (const [name, t] of infos) {
    if (t.end > dataLen) {
      throw new Error(`nn.load(${path}): tensor "${name}" has data_offsets [${t.begin},${t.end}] outside the file's ${dataLen} data bytes`);
    }
  }
  return { infos, metadata, dataStart };
}

/** Rebuilds the saved nesting from the skeleton, checking each name it refers to exists. */
function rebuild(path: string, skeleton: Skeleton, arrays: Map<string, Tracer>): PyTree<Tracer> {
  const walk = (s: Skeleton): PyTree<Tracer> => {
    if (s === null) return null;
    if (s === false) return undefined;
    if (typeof s === "string") {
      const a = arrays.get(s);
      if (!a) throw new Error(`nn.load(${path}): the stored tree refers to tensor "${s}", which the file does not contain`);
      return a;
    }
    if (Array.isArray(s)) return s.map(walk);
    if (isPlainObject(s)) return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, walk(v)]));
    throw new Error(`nn.load(${path}): the stored tree has an unexpected node ${JSON.stringify(s)}`);
  };
  return walk(skeleton);
}

/**
 * Reads a safetensors file written by `save` back into the same pytree (objects, JS
 * arrays and null leaves included); other safetensors files load as `{ name: array }`.
 * Arrays are created on the default backend. Node only; in a browser use `loadBytes`.
 * @example
 * const { w, theta } = await nn.load("ckpt/model.safetensors");
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the stored pytree's structure is known only at run time; callers destructure it as they saved it
export async function load(path: string, opts: { backend?: string } = {}): Promise<any> {
  checkOptions("nn.load", opts, ["backend"]);
  checkHostEndianness(`nn.load(${path})`);
  return deserialize(path, await readFileBytes(path), opts.backend);
}

/**
 * Reads the bytes of a safetensors file (from `saveBytes`, a download, an upload) into
 * the pytree that was saved; errors name the bytes "bytes".
 * @example
 * const params = await nn.loadBytes(new Uint8Array(await (await fetch(url)).arrayBuffer()));
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the saved pytree's type is the caller's (as nn.load)
export async function loadBytes(bytes: Uint8Array, opts: { backend?: string } = {}): Promise<any> {
  checkOptions("nn.loadBytes", opts, ["backend"]);
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`nn.loadBytes: expected a Uint8Array of a safetensors file, got ${bytes === null ? "null" : typeof bytes}`);
  checkHostEndianness("nn.loadBytes");
  return deserialize("bytes", bytes, opts.backend);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the saved pytree's type is the caller's (as nn.load)
function deserialize(path: string, buf: Uint8Array, backend: string | undefined): any {
  const { infos, metadata, dataStart } = parseHeader(path, buf);
  const arrays = new Map<string, Tracer>();
  for (const [name, t] of infos) {
    // Copy into a fresh ArrayBuffer: the file's bytes need not sit at an aligned offset.
    // (a copy: Node's Buffer.slice would give a view of the whole file's memory).
    const bytes = new Uint8Array(buf.subarray(dataStart + t.begin, dataStart + t.end)).buffer;
    arrays.set(name, fromTyped(typedArrayFrom(t.dtype, bytes, sizeOf(t.shape)), t.shape, t.dtype, backend));
  }
  const stored = metadata[TREE_KEY];
  if (stored === undefined) return Object.fromEntries(arrays);
  let skeleton: Skeleton;
  try {
    skeleton = JSON.parse(String(stored));
  } catch (e) {
    throw new Error(`nn.load(${path}): __metadata__["${TREE_KEY}"] does not parse as JSON (${(e as Error).message})`, { cause: e });
  }
  return rebuild(path, skeleton, arrays);
}

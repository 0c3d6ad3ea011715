/**
 * A reader for MATLAB v5 .mat files, enough for olivettifaces.mat (the file scikit-learn
 * downloads): numeric, real, non-sparse matrices, compressed (miCOMPRESSED) or not,
 * little-endian. Other variable kinds (cells, structs, sparse) are skipped.
 */
import { DataError } from "./files.ts";
import { inflateBounded, inflateHead } from "./inflate.ts";

export interface MatVariable {
  name: string;
  /** MATLAB dimensions, e.g. [4096, 400]. */
  dims: number[];
  /** Elements in MATLAB's column-major order, widened to float64. */
  data: Float64Array;
}

const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
// Numeric mxClass ids (6 double .. 13 uint32); others are not read.
const NUMERIC_CLASSES = new Set([6, 7, 8, 9, 10, 11, 12, 13]);

interface Element {
  type: number;
  body: Uint8Array;
  /** Offset of the next element. */
  next: number;
}

function readElement(buf: Uint8Array, at: number, file: string): Element {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (at + 8 > buf.length) throw new DataError(`${file}: truncated .mat data element at byte ${at}`);
  const first = dv.getUint32(at, true);
  if (first >>> 16 !== 0) {
    // Small data element: type and size share the first word, the data fits the second.
    const n = first >>> 16;
    if (n > 4) throw new DataError(`${file}: bad small data element at byte ${at}`);
    return { type: first & 0xffff, body: buf.subarray(at + 4, at + 4 + n), next: at + 8 };
  }
  const n = dv.getUint32(at + 4, true);
  if (at + 8 + n > buf.length) throw new DataError(`${file}: truncated .mat file (element at byte ${at} needs ${n} bytes, ${buf.length - at - 8} left)`);
  // Elements are padded to 8 bytes, except compressed ones, which are followed directly by the next.
  const padded = first === MI_COMPRESSED ? n : Math.ceil(n / 8) * 8;
  return { type: first, body: buf.subarray(at + 8, at + 8 + n), next: at + 8 + padded };
}

function numbers(el: Element, file: string): Float64Array {
  const b = el.body;
  // Copy to an aligned buffer so a typed-array view can read it (element data may sit at any offset).
  const buf = new Uint8Array(b).buffer;
  // miINT8..miUINT32, miSINGLE, miDOUBLE, miINT64, miUINT64 (little-endian, as the host).
  const views: Record<number, (n: number) => ArrayLike<number | bigint>> = {
    1: (n) => new Int8Array(buf, 0, n),
    2: (n) => new Uint8Array(buf, 0, n),
    3: (n) => new Int16Array(buf, 0, n),
    4: (n) => new Uint16Array(buf, 0, n),
    5: (n) => new Int32Array(buf, 0, n),
    6: (n) => new Uint32Array(buf, 0, n),
    7: (n) => new Float32Array(buf, 0, n),
    9: (n) => new Float64Array(buf, 0, n),
    12: (n) => new BigInt64Array(buf, 0, n),
    13: (n) => new BigUint64Array(buf, 0, n),
  };
  const sizes: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8 };
  const view = views[el.type];
  if (!view) throw new DataError(`${file}: unsupported .mat data type ${el.type}`);
  const src = view(Math.floor(b.length / sizes[el.type]));
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
  return out;
}

function readMatrix(body: Uint8Array, file: string): MatVariable | null {
  const flags = readElement(body, 0, file);
  const cls = flags.body[0];
  const isComplex = (flags.body[1] & 0x08) !== 0;
  if (!NUMERIC_CLASSES.has(cls) || isComplex) return null;
  const dimsEl = readElement(body, flags.next, file);
  const dims = Array.from(numbers(dimsEl, file));
  const nameEl = readElement(body, dimsEl.next, file);
  const name = new TextDecoder("latin1").decode(nameEl.body);
  const real = readElement(body, nameEl.next, file);
  const data = numbers(real, file);
  const size = dims.reduce((a, c) => a * c, 1);
  if (data.length !== size) throw new DataError(`${file}: variable ${name} has ${data.length} values for dims [${dims}]; truncated?`);
  return { name, dims, data };
}

/**
 * The numeric matrices of a MATLAB v5 file, by name.
 * @example parseMat(readFileSync("olivettifaces.mat"), "olivettifaces.mat").faces.dims // [4096, 400]
 */
export function parseMat(bytes: Uint8Array, file: string): Record<string, MatVariable> {
  if (bytes.length < 128) throw new DataError(`${file}: not a MATLAB v5 file (shorter than the 128-byte header)`);
  const text = new TextDecoder("latin1").decode(bytes.subarray(0, 10));
  if (!text.startsWith("MATLAB 5.0")) throw new DataError(`${file}: bad magic ${JSON.stringify(text)}, expected "MATLAB 5.0" (a v5 .mat file; v7.3 files are HDF5 and unsupported)`);
  if (bytes[126] !== 0x49 || bytes[127] !== 0x4d) throw new DataError(`${file}: big-endian .mat files are unsupported`);
  const out: Record<string, MatVariable> = {};
  let at = 128;
  while (at < bytes.length) {
    const el = readElement(bytes, at, file);
    let matrix: Element | null = el.type === MI_MATRIX ? el : null;
    if (el.type === MI_COMPRESSED) {
      const where = `${file}: compressed element at byte ${at}`;
      // The inflated element's tag declares its length, which bounds the whole stream.
      const head = inflateHead("inflate", el.body, 8, where);
      if (head.length < 8) throw new DataError(`${where}: inflates to ${head.length} bytes, fewer than a data element's 8-byte tag`);
      const inner = inflateBounded("inflate", el.body, 8 + new DataView(head.buffer, head.byteOffset, 8).getUint32(4, true), where);
      const sub = readElement(inner, 0, file);
      matrix = sub.type === MI_MATRIX ? sub : null;
    }
    if (matrix) {
      const v = readMatrix(matrix.body, file);
      if (v) out[v.name] = v;
    }
    at = el.next;
  }
  return out;
}

/**
 * Readers for NumPy's .npy and .npz files (npz = a zip of .npy files, stored or deflated),
 * enough for the datasets here: dtypes <f4 <f8 <i8 <i4 <u1 |u1 |b1, C or Fortran order,
 * format versions 1-3. Fortran-ordered arrays are returned in C order. Malformed input
 * throws DataError naming the file.
 */
import * as zlib from "node:zlib";
import { DataError } from "./files.ts";
import { inflateBounded } from "./inflate.ts";

export type NpyData = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface NpyArray {
  /** The dtype as written in the header, e.g. "<f4". */
  descr: string;
  shape: number[];
  /** Row-major (C order) elements. int64 is narrowed to Int32Array (checked); bool and uint8 are Uint8Array. */
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/**
 * Parses a .npy file.
 * @example const { shape, data } = parseNpy(readFileSync("olivetti_faces.npy"), "olivetti_faces.npy")
 */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const bad = (what: string) => new DataError(`${file}: not a valid .npy file (${what})`);
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw bad("bad magic");
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) [headerLen, start] = [dv.getUint16(8, true), 10];
  else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad("truncated header");
    [headerLen, start] = [dv.getUint32(8, true), 12];
  } else throw bad(`unsupported format version ${major}`);
  if (start + headerLen > bytes.length) throw bad("truncated header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad(`unreadable header ${JSON.stringify(header.trim())}`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const n = Number(s.replace(/L$/, ""));
      if (!Number.isSafeInteger(n) || n < 0) throw bad(`bad shape (${shapeText})`);
      return n;
    });
  const size = shape.reduce((a, b) => a * b, 1);
  const itemSize = ITEM_SIZE[descr];
  if (itemSize === undefined) throw bad(`unsupported dtype ${descr}; expected one of ${Object.keys(ITEM_SIZE).join(" ")}`);
  const offset = start + headerLen;
  if (bytes.length - offset < size * itemSize) throw bad(`truncated data: ${bytes.length - offset} bytes for ${size} x ${descr}`);
  let data = decode(descr, bytes.subarray(offset, offset + size * itemSize), size, file);
  if (fortran === "True" && shape.length > 1) data = fortranToC(data, shape);
  return { descr, shape, data };
}

const ITEM_SIZE: Record<string, number> = { "<f4": 4, "<f8": 8, "<i8": 8, "<i4": 4, "<u1": 1, "|u1": 1, "|b1": 1 };

function decode(descr: string, raw: Uint8Array, size: number, file: string): NpyData {
  // Copy into a fresh, aligned buffer: the payload's offset in the file is arbitrary.
  const copy = new Uint8Array(raw); // a copy: Buffer.slice would be a view
  switch (descr) {
    case "<f4":
      return new Float32Array(copy.buffer, 0, size);
    case "<f8":
      return new Float64Array(copy.buffer, 0, size);
    case "<i4":
      return new Int32Array(copy.buffer, 0, size);
    case "<i8": {
      // The library has no int64; labels and counts fit int32, and anything else is an error.
      const wide = new BigInt64Array(copy.buffer, 0, size);
      const out = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        const v = wide[i];
        if (v > 2147483647n || v < -2147483648n) throw new DataError(`${file}: int64 value ${v} at index ${i} does not fit int32`);
        out[i] = Number(v);
      }
      return out;
    }
    default: // <u1 |u1 |b1
      return copy;
  }
}

function fortranToC(data: NpyData, shape: number[]): NpyData {
  // Fortran order = C order of the reversed shape; element (i0..ik) sits at sum i_j * fstride_j.
  const out = new (data.constructor as new (n: number) => NpyData)(data.length);
  const nd = shape.length;
  const fstride = new Array<number>(nd);
  fstride[0] = 1;
  for (let d = 1; d < nd; d++) fstride[d] = fstride[d - 1] * shape[d - 1];
  const idx = new Array<number>(nd).fill(0);
  for (let c = 0; c < data.length; c++) {
    let f = 0;
    for (let d = 0; d < nd; d++) f += idx[d] * fstride[d];
    out[c] = data[f];
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compSize: number;
  size: number;
  localOffset: number;
}

/** The entries of a zip archive, from its central directory (zip64 sizes included). */
function zipEntries(bytes: Uint8Array, file: string): ZipEntry[] {
  const bad = (what: string) => new DataError(`${file}: not a valid .npz (zip) file (${what})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record is in the last 22 + 65535 bytes (after the comment).
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad(bytes.length >= 4 && dv.getUint32(0, true) === 0x04034b50 ? "truncated: no end of central directory" : "bad magic");
  let count = dv.getUint16(eocd + 10, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    // Zip64: the locator sits just before the EOCD and points at the zip64 EOCD record.
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) throw bad("zip64 locator missing");
    const rec = Number(dv.getBigUint64(loc + 8, true));
    if (rec + 56 > bytes.length || dv.getUint32(rec, true) !== 0x06064b50) throw bad("zip64 record missing");
    count = Number(dv.getBigUint64(rec + 32, true));
    cdOffset = Number(dv.getBigUint64(rec + 48, true));
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > bytes.length || dv.getUint32(p, true) !== 0x02014b50) throw bad("corrupt central directory");
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let compSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localOffset = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // Zip64 extra field (id 1): 8-byte values, present only for the fields saturated at 0xffffffff.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    if (end + commentLen > bytes.length) throw bad("corrupt central directory (an entry runs past the end)");
    while (e + 4 <= end) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > Math.min(e + 4 + len, end)) throw bad("corrupt zip64 extra field");
          return Number(dv.getBigUint64((q += 8) - 8, true));
        };
        if (size === 0xffffffff) size = next();
        if (compSize === 0xffffffff) compSize = next();
        if (localOffset === 0xffffffff) localOffset = next();
      }
      e += 4 + len;
    }
    entries.push({ name, method, crc, compSize, size, localOffset });
    p = end + commentLen;
  }
  return entries;
}

/**
 * Parses a .npz archive into its arrays, keyed by name without ".npy".
 * @example const { mario, iggy } = parseNpz(readFileSync("images.npz"), "images.npz")
 */
export function parseNpz(bytes: Uint8Array, file: string): Record<string, NpyArray> {
  const out: Record<string, NpyArray> = {};
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const e of zipEntries(bytes, file)) {
    const where = `${file}:${e.name}`;
    const h = e.localOffset;
    if (h + 30 > bytes.length || dv.getUint32(h, true) !== 0x04034b50) throw new DataError(`${where}: corrupt zip local header`);
    // The data starts after the local header, whose name and extra lengths may differ from the central ones.
    const start = h + 30 + dv.getUint16(h + 26, true) + dv.getUint16(h + 28, true);
    if (start + e.compSize > bytes.length) throw new DataError(`${where}: truncated entry (${bytes.length - start} of ${e.compSize} bytes)`);
    const raw = bytes.subarray(start, start + e.compSize);
    let content: Uint8Array;
    if (e.method === 0) content = raw;
    else if (e.method === 8) content = inflateBounded("inflateRaw", raw, e.size, where);
    else throw new DataError(`${where}: unsupported zip compression method ${e.method} (stored or deflated expected)`);
    if (content.length !== e.size) throw new DataError(`${where}: size ${content.length} differs from the declared ${e.size}`);
    // zlib.crc32 exists from Node 20.15; older versions skip the check (the file checksums still apply).
    const crc32 = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
    if (crc32 && crc32(content) >>> 0 !== e.crc) throw new DataError(`${where}: CRC mismatch (corrupt archive)`);
    out[e.name.replace(/\.npy$/, "")] = parseNpy(content, where);
  }
  return out;
}

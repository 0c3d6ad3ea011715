/**
 * Hand-built .npy / .npz / .mat / idx files for the reader tests, and where the verified
 * data lives (AUGERINO_DATA_DIR when set, else /work/shared/data; tests skip without it).
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as zlib from "node:zlib";

export function sharedDataDir(): string | null {
  const env = process.env.AUGERINO_DATA_DIR;
  const dir = env ? resolve(env) : "/work/shared/data";
  return existsSync(join(dir, "mnist")) ? dir : null;
}

/** sharedDataDir(), also set as AUGERINO_DATA_DIR so the dataset loaders read it; null where the data are absent. */
export function useSharedDataDir(): string | null {
  const dir = sharedDataDir();
  if (dir) process.env.AUGERINO_DATA_DIR = dir;
  return dir;
}

/** Saves the named environment variables now and puts them back in `hook` (vitest's afterEach or afterAll). */
export function restoreEnv(hook: (fn: () => void) => void, ...names: string[]): void {
  const saved = names.map((n) => [n, process.env[n]] as const);
  hook(() => {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  });
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `augerino-${prefix}-`));

/** A .npy file: header dict padded with spaces to a multiple of 64 bytes, then the raw bytes. */
export function npyBytes(descr: string, shape: number[], payload: Uint8Array, opts: { fortran?: boolean; version?: 1 | 2 } = {}): Uint8Array {
  const version = opts.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? "True" : "False"}, 'shape': ${shapeText}, }`;
  const pre = version === 1 ? 10 : 12;
  dict += " ".repeat(63 - ((pre + dict.length) % 64)) + "\n";
  const head = new Uint8Array(pre);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(head.buffer);
  if (version === 1) dv.setUint16(8, dict.length, true);
  else dv.setUint32(8, dict.length, true);
  return concat([head, new TextEncoder().encode(dict), payload]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * A zip archive of the given entries, stored (method 0) or deflated (8). With `zip64`, the
 * sizes and offsets in the central directory are 0xffffffff and the real values sit in a
 * zip64 extra field, as numpy's savez (force_zip64) writes them.
 */
export function zipBytes(entries: { name: string; data: Uint8Array }[], opts: { deflate?: boolean; zip64?: boolean } = {}): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = opts.deflate ? new Uint8Array(zlib.deflateRawSync(e.data)) : e.data;
    const name = new TextEncoder().encode(e.name);
    const crc = zlib.crc32(e.data) >>> 0;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, opts.deflate ? 8 : 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const extra = new Uint8Array(opts.zip64 ? 28 : 0);
    if (opts.zip64) {
      const ev = new DataView(extra.buffer);
      ev.setUint16(0, 1, true);
      ev.setUint16(2, 24, true);
      ev.setBigUint64(4, BigInt(e.data.length), true);
      ev.setBigUint64(12, BigInt(body.length), true);
      ev.setBigUint64(20, BigInt(offset), true);
    }
    const central = new Uint8Array(46 + name.length + extra.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, opts.deflate ? 8 : 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, opts.zip64 ? 0xffffffff : body.length, true);
    cv.setUint32(24, opts.zip64 ? 0xffffffff : e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, extra.length, true);
    cv.setUint32(42, opts.zip64 ? 0xffffffff : offset, true);
    central.set(name, 46);
    central.set(extra, 46 + name.length);
    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const cdSize = centrals.reduce((a, c) => a + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return concat([...locals, ...centrals, eocd]);
}

/** An idx file of unsigned bytes (big-endian dims), gzip'd when asked. */
export function idxBytes(dims: number[], data: Uint8Array, gzip = false): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const dv = new DataView(head.buffer);
  head.set([0, 0, 8, dims.length]);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const raw = concat([head, data]);
  return gzip ? new Uint8Array(zlib.gzipSync(raw)) : raw;
}

/** A MATLAB v5 file with one uint8 matrix (column-major data), compressed or not. */
export function matBytes(name: string, dims: [number, number], data: Uint8Array, compress: boolean): Uint8Array {
  const header = new Uint8Array(128).fill(0x20);
  header.set(new TextEncoder().encode("MATLAB 5.0 MAT-file, test"), 0);
  header.set([0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0x49, 0x4d], 116);
  const el = (type: number, body: Uint8Array) => {
    const padded = new Uint8Array(8 + Math.ceil(body.length / 8) * 8);
    const dv = new DataView(padded.buffer);
    dv.setUint32(0, type, true);
    dv.setUint32(4, body.length, true);
    padded.set(body, 8);
    return padded;
  };
  const flags = new Uint8Array(8);
  flags[0] = 9; // mxUINT8_CLASS
  const dimsBody = new Uint8Array(8);
  new DataView(dimsBody.buffer).setInt32(0, dims[0], true);
  new DataView(dimsBody.buffer).setInt32(4, dims[1], true);
  const matrix = el(14, concat([el(6, flags), el(5, dimsBody), el(1, new TextEncoder().encode(name)), el(2, data)]));
  if (!compress) return concat([header, matrix]);
  const z = new Uint8Array(zlib.deflateSync(matrix));
  const tag = new Uint8Array(8);
  new DataView(tag.buffer).setUint32(0, 15, true);
  new DataView(tag.buffer).setUint32(4, z.length, true);
  return concat([header, tag, z]);
}

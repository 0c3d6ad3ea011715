/**
 * A PNG decoder for the 8-bit, non-interlaced images datasets ship (gray, gray+alpha, RGB,
 * RGBA, palette): chunks, the zlib stream of the IDAT chunks, and the five scanline filters.
 */
import { DataError } from "./files.ts";
import { inflateBounded } from "./inflate.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface Png {
  width: number;
  height: number;
  /** Samples per pixel after decoding: 1 (gray or palette index), 2, 3 or 4. */
  channels: number;
  /** Row-major [height, width, channels] bytes; palette images keep their indices. */
  data: Uint8Array;
}

const paeth = (a: number, b: number, c: number) => {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};

/** Decodes a PNG file's bytes; DataError naming `where` for anything it cannot read. */
export function decodePng(bytes: Uint8Array, where: string): Png {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new DataError(`${where}: not a PNG file`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let header: { width: number; height: number; depth: number; type: number; interlace: number } | undefined;
  const idat: Uint8Array[] = [];
  while (at + 8 <= bytes.length) {
    const len = dv.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + len > bytes.length) throw new DataError(`${where}: truncated ${type} chunk`);
    const body = bytes.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") header = { width: dv.getUint32(at + 8), height: dv.getUint32(at + 12), depth: body[8], type: body[9], interlace: body[12] };
    else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") break;
    at += 12 + len;
  }
  if (!header) throw new DataError(`${where}: no IHDR chunk`);
  const { width, height, depth, type, interlace } = header;
  const channels = CHANNELS[type];
  if (depth !== 8 || channels === undefined || interlace !== 0)
    throw new DataError(`${where}: PNG with bit depth ${depth}, color type ${type}, interlace ${interlace}; this reader takes 8-bit non-interlaced images`);
  const stride = width * channels;
  const joined = new Uint8Array(idat.reduce((s, c) => s + c.length, 0));
  idat.reduce((o, c) => (joined.set(c, o), o + c.length), 0);
  const raw = inflateBounded("inflate", joined, (stride + 1) * height, where);
  if (raw.length !== (stride + 1) * height) throw new DataError(`${where}: image data is ${raw.length} bytes, expected ${(stride + 1) * height}`);
  const out = new Uint8Array(stride * height);
  for (let r = 0; r < height; r++) {
    const filter = raw[r * (stride + 1)];
    const line = raw.subarray(r * (stride + 1) + 1, (r + 1) * (stride + 1));
    const row = r * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[row + i - channels] : 0;
      const b = r > 0 ? out[row - stride + i] : 0;
      const c = r > 0 && i >= channels ? out[row - stride + i - channels] : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      if (pred === undefined) throw new DataError(`${where}: row ${r} has unknown filter ${filter}`);
      out[row + i] = (line[i] + pred) & 0xff;
    }
  }
  return { width, height, channels, data: out };
}

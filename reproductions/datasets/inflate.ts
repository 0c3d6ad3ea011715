/**
 * Decompression whose output is bounded before anything is allocated. Every format here says
 * how many bytes a stream holds (zip's size field, the idx dimensions, a .mat element's
 * length), so a stream that inflates past that (a deflate bomb) stops with a DataError at the
 * declared size instead of filling memory, and a declared size too large to hold is refused.
 */
import * as zlib from "node:zlib";
import { DataError } from "./files.ts";

export type Codec = "inflateRaw" | "inflate" | "gunzip";
const SYNC = { inflateRaw: zlib.inflateRawSync, inflate: zlib.inflateSync, gunzip: zlib.gunzipSync };

/** 2 GiB: more than any dataset file here, and what a Node Buffer holds on every platform. */
export const MAX_INFLATED = 2 ** 31 - 1;

const message = (e: unknown) => (e as Error).message;

/**
 * At least the first `need` inflated bytes where the stream has them, enough to read the size a
 * format declares at its start. Reads growing prefixes, so the output stays small (a deflate
 * block inflates at most ~1032 times its input) while Huffman tables and gzip names fit.
 */
export function inflateHead(codec: Codec, bytes: Uint8Array, need: number, where: string): Uint8Array {
  let head = new Uint8Array(0);
  for (const n of [256, 4096, 65536]) {
    try {
      head = SYNC[codec](bytes.subarray(0, n), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (e) {
      throw new DataError(`${where}: corrupt or truncated compressed stream (${message(e)})`);
    }
    if (head.length >= need || n >= bytes.length) break;
  }
  return head;
}

/** The whole stream, which must inflate to at most `maxBytes`. */
export function inflateBounded(codec: Codec, bytes: Uint8Array, maxBytes: number, where: string): Uint8Array {
  if (!(maxBytes >= 0 && maxBytes <= MAX_INFLATED)) {
    throw new DataError(`${where}: declared size of ${maxBytes} bytes is beyond the ${MAX_INFLATED} this reader accepts (corrupt or hostile file)`);
  }
  try {
    return SYNC[codec](bytes, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (e) {
    const over = (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
    throw new DataError(`${where}: ${over ? `compressed stream inflates past its declared ${maxBytes} bytes` : "corrupt or truncated compressed stream"} (${message(e)})`);
  }
}

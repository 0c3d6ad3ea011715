/**
 * Reading the members of a (gzip'd) POSIX tar archive in memory: 512-byte headers (name,
 * octal size, type flag, ustar prefix), each member's bytes padded to 512. Enough for the
 * dataset archives, which hold plain files.
 */
import { DataError } from "./files.ts";
import { inflateBounded, MAX_INFLATED } from "./inflate.ts";

const BLOCK = 512;

const text = (b: Uint8Array) => {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
};

/**
 * The regular files of a tar archive (gzip'd when it starts with the gzip magic) whose path
 * `keep` accepts, by path. `maxBytes` bounds the inflated archive.
 * @example readTar(bytes, "cifar-10-binary.tar.gz", (p) => p.endsWith(".bin"))
 */
export function readTar(bytes: Uint8Array, where: string, keep: (path: string) => boolean = () => true, maxBytes = MAX_INFLATED): Map<string, Uint8Array> {
  const tar = bytes[0] === 0x1f && bytes[1] === 0x8b ? inflateBounded("gunzip", bytes, maxBytes, where) : bytes;
  const files = new Map<string, Uint8Array>();
  let at = 0;
  while (at + BLOCK <= tar.length) {
    const head = tar.subarray(at, at + BLOCK);
    if (head.every((b) => b === 0)) break; // the end-of-archive blocks
    const ustar = text(head.subarray(257, 263)).startsWith("ustar");
    const path = (ustar && head[345] !== 0 ? `${text(head.subarray(345, 500))}/` : "") + text(head.subarray(0, 100));
    const sizeField = text(head.subarray(124, 136)).trim();
    if (!/^[0-7]+$/.test(sizeField)) throw new DataError(`${where}: not a tar archive (member header at byte ${at} has size field "${sizeField}")`);
    const size = parseInt(sizeField, 8);
    const start = at + BLOCK;
    if (start + size > tar.length) throw new DataError(`${where}: truncated: member ${path} needs ${size} bytes, ${tar.length - start} remain`);
    const type = String.fromCharCode(head[156] || 0x30);
    if (type === "0" && keep(path)) files.set(path, tar.subarray(start, start + size));
    at = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}

/** A tar archive of `files` (path -> bytes), for tests and tools that write the formats read here. */
export function writeTar(files: Record<string, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [path, data] of Object.entries(files)) {
    if (path.length > 99) throw new Error(`writeTar: path ${path} is longer than 99 characters`);
    const head = new Uint8Array(BLOCK);
    const put = (s: string, offset: number) => head.set(new TextEncoder().encode(s), offset);
    put(path, 0);
    put("0000644\0", 100);
    put(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
    put("00000000000\0", 136);
    head[156] = 0x30;
    put("ustar\0", 257);
    put("00", 263);
    // The checksum: the header's byte sum with its own field read as spaces.
    head.fill(0x20, 148, 156);
    const sum = head.reduce((s, b) => s + b, 0);
    put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    parts.push(head, data, new Uint8Array((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Every file reader (npy, npz, idx, MATLAB v5, safetensors) on damaged and hostile input:
 * truncated, bit-flipped and spliced copies of valid files, declared lengths of 2^60, deflate
 * bombs and headers pointing past the end. Each either reads the file or throws an Error that
 * names the file, quickly and without allocating what a hostile length declares.
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { parseIdx, parseMat, parseNpy, parseNpz } from "../../reproductions/datasets/index.ts";
import { load, save } from "../../nn/checkpoint.ts";
import { np } from "../../index.ts";
import { bytesOf, concat, idxBytes, matBytes, npyBytes, tempDir, zipBytes } from "../reproductions/fixtures.ts";

const dir = tempDir("fuzz");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Damage to a valid file: cut it, flip bits, overwrite a run of bytes, or insert bytes. */
const damage = (len: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat({ max: len - 1 }) }),
    fc.record({ kind: fc.constant("flip" as const), flips: fc.array(fc.tuple(fc.nat({ max: len - 1 }), fc.nat({ max: 7 })), { minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant("overwrite" as const), at: fc.nat({ max: len - 1 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.nat({ max: len }), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  );
type Damage = typeof damage extends (n: number) => fc.Arbitrary<infer D> ? D : never;

function apply(file: Uint8Array, d: Damage): Uint8Array {
  switch (d.kind) {
    case "truncate":
      return file.slice(0, d.at);
    case "flip": {
      const out = file.slice();
      for (const [at, bit] of d.flips) out[at] ^= 1 << bit;
      return out;
    }
    case "overwrite": {
      const out = file.slice();
      out.set(d.bytes.subarray(0, out.length - d.at), d.at);
      return out;
    }
    case "insert":
      return concat([file.subarray(0, d.at), d.bytes, file.subarray(d.at)]);
  }
}

/** The reader returns, or throws an Error naming the file; a TypeError or RangeError from deep inside fails. */
function readsOrNames(read: () => unknown, file: string): void {
  const t0 = performance.now();
  try {
    read();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).constructor.name, (e as Error).message).not.toMatch(/^(TypeError|RangeError)$/);
    expect((e as Error).message).toContain(file);
  }
  expect(performance.now() - t0).toBeLessThan(2000);
}

/** Growth of the memory typed arrays hold while `f` runs: a hostile length must not be allocated. */
function externalGrowth(f: () => unknown): number {
  const before = process.memoryUsage().arrayBuffers;
  try {
    f();
  } catch {
    // the errors are checked separately
  }
  return process.memoryUsage().arrayBuffers - before;
}

const payload = Uint8Array.from({ length: 48 }, (_, i) => (i * 37) & 0xff);
const npy = npyBytes("<f4", [3, 4], payload);
const VALID: [string, Uint8Array, (b: Uint8Array, name: string) => unknown][] = [
  ["npy", npy, parseNpy],
  [
    "npz stored",
    zipBytes([
      { name: "a.npy", data: npy },
      { name: "b.npy", data: npyBytes("|u1", [5], payload.subarray(0, 5)) },
    ]),
    parseNpz,
  ],
  ["npz deflated zip64", zipBytes([{ name: "a.npy", data: npy }], { deflate: true, zip64: true }), parseNpz],
  ["idx", idxBytes([3, 4, 4], payload), (b, n) => parseIdx(b, n, 3)],
  ["idx gzip", idxBytes([3, 4, 4], payload, true), (b, n) => parseIdx(b, n, 3)],
  ["mat", matBytes("faces", [6, 8], payload, false), parseMat],
  ["mat compressed", matBytes("faces", [6, 8], payload, true), parseMat],
];

describe("file readers on damaged input", () => {
  for (const [kind, file, read] of VALID) {
    it(`${kind}: truncated, bit-flipped and spliced copies read or fail naming the file`, () => {
      read(file, "valid.bin");
      fc.assert(
        fc.property(damage(file.length), (d) => readsOrNames(() => read(apply(file, d), "damaged.bin"), "damaged.bin")),
        { numRuns: 150 },
      );
    });
  }

  it("safetensors: damaged checkpoints load or fail naming the file", async () => {
    const good = join(dir, "good.safetensors");
    await save(good, { w: np.arange(12).reshape([3, 4]), b: [np.ones([2], "int32"), null] });
    const bytes = new Uint8Array(await import("node:fs").then((fs) => fs.readFileSync(good)));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(damage(bytes.length), async (d) => {
        const path = join(dir, `bad${n++}.safetensors`);
        writeFileSync(path, apply(bytes, d));
        const t0 = performance.now();
        await load(path).then(
          () => undefined,
          (e: unknown) => {
            expect(e).toBeInstanceOf(Error);
            expect((e as Error).constructor.name).not.toMatch(/^(TypeError|RangeError)$/);
            expect((e as Error).message).toContain(path);
          },
        );
        expect(performance.now() - t0).toBeLessThan(2000);
      }),
      { numRuns: 100 },
    );
  });
});

const u32le = (...vs: number[]) => bytesOf(Uint32Array.from(vs));
const u64le = (v: bigint) => bytesOf(BigUint64Array.from([v]));
const MiB = 2 ** 20;

describe("file readers on hostile input", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["npy declaring shape (2^60,)", () => parseNpy(npyBytes("<f4", [2 ** 60], payload), "h.npy"), /h\.npy: .*(truncated data|bad shape)/],
    ["npy v2 header length 2^32 - 1", () => parseNpy(concat([npy.subarray(0, 6), Uint8Array.of(2, 0), u32le(0xffffffff), npy.subarray(10)]), "h.npy"), /h\.npy: .*truncated header/],
    ["npz deflate bomb (16 MiB of zeros declared as 48 bytes)", () => parseNpz(bomb(), "h.npz"), /h\.npz:a\.npy: compressed stream inflates past its declared 48 bytes/],
    ["npz entry declaring 2^60 bytes (zip64)", () => parseNpz(zip64Size(2n ** 60n), "h.npz"), /h\.npz:a\.npy: .*(truncated entry|declared size)/],
    ["npz central directory past the end", () => parseNpz(cdPastEnd(), "h.npz"), /h\.npz: .*corrupt central directory/],
    ["idx declaring 2^32 - 1 cubed bytes", () => parseIdx(concat([Uint8Array.of(0, 0, 8, 3), new Uint8Array(12).fill(0xff), payload]), "h.idx", 3), /h\.idx: 48 data bytes/],
    [
      "gzip'd idx bomb (16 MiB of zeros after a 3x4x4 file)",
      () => parseIdx(new Uint8Array(zlib.gzipSync(concat([idxBytes([3, 4, 4], payload), new Uint8Array(16 * MiB)]))), "h.idx.gz", 3),
      /h\.idx\.gz: compressed stream inflates past its declared 64 bytes/,
    ],
    [
      "gzip'd idx declaring 2^32 - 1 cubed bytes",
      () => parseIdx(new Uint8Array(zlib.gzipSync(concat([Uint8Array.of(0, 0, 8, 3), new Uint8Array(12).fill(0xff)]))), "h.idx.gz", 3),
      /h\.idx\.gz: declared size/,
    ],
    ["mat element of 2^32 - 1 bytes", () => parseMat(concat([matBytes("f", [6, 8], payload, false).subarray(0, 128), u32le(14, 0xffffffff), payload]), "h.mat"), /h\.mat: truncated \.mat file/],
    [
      "mat compressed bomb (inner tag 64 bytes, 16 MiB of zeros)",
      () => parseMat(matCompressed(concat([u32le(14, 56), new Uint8Array(16 * MiB)])), "h.mat"),
      /h\.mat: .*inflates past its declared 64 bytes/,
    ],
    ["mat compressed element declaring 2^32 - 1 bytes", () => parseMat(matCompressed(concat([u32le(14, 0xffffffff), payload])), "h.mat"), /h\.mat: .*declared size of 4294967303 bytes is beyond/],
  ];
  for (const [what, read, message] of cases) {
    it(`${what}: a clear error, without allocating the declared size`, () => {
      const t0 = performance.now();
      expect(read).toThrow(message);
      expect(externalGrowth(read)).toBeLessThan(64 * MiB);
      expect(performance.now() - t0).toBeLessThan(5000);
    });
  }

  it("safetensors: a header length of 2^60, a shape of 2^60 elements and offsets past the end are refused", async () => {
    const st = (header: object | string, data = new Uint8Array(0), len?: bigint) => {
      const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
      const path = join(dir, `h${Math.random().toString(36).slice(2)}.safetensors`);
      writeFileSync(path, concat([u64le(len ?? BigInt(json.length)), json, data]));
      return path;
    };
    const cases: [string, RegExp][] = [
      [st({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4), 2n ** 60n), /bad header length 1152921504606846976/],
      [st({ a: { dtype: "F32", shape: [2 ** 30, 2 ** 30], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "a" has data_offsets \[0,4\] spanning 4 bytes/],
      [st({ a: { dtype: "F32", shape: [2 ** 40], data_offsets: [0, 2 ** 42] } }, new Uint8Array(4)), /truncated file|outside the file/],
      [
        st({ a: { dtype: "F32", shape: [1], data_offsets: [4096, 4100] }, b: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)),
        /tensor "a" has data_offsets \[4096,4100\] outside/,
      ],
    ];
    for (const [path, message] of cases) {
      const before = process.memoryUsage().arrayBuffers;
      await expect(load(path)).rejects.toThrow(message);
      await expect(load(path)).rejects.toThrow(path);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB);
    }
  });
});

/** A stored .npz whose one entry is deflated zeros far beyond its declared size. */
function bomb(): Uint8Array {
  const z = zipBytes([{ name: "a.npy", data: new Uint8Array(16 * MiB) }], { deflate: true });
  // The central directory's uncompressed size (offset 24 in the entry) now says 48 bytes.
  const out = z.slice();
  const dv = new DataView(out.buffer);
  const cd = dv.getUint32(out.length - 6, true);
  dv.setUint32(cd + 24, 48, true);
  return out;
}

/** A zip64 .npz whose entry's sizes in the zip64 extra field say `size`. */
function zip64Size(size: bigint): Uint8Array {
  const out = zipBytes([{ name: "a.npy", data: npy }], { zip64: true }).slice();
  const dv = new DataView(out.buffer);
  // The zip64 extra field follows the entry's name; its first two 8-byte values are the sizes.
  const at = findSig(out, 0x02014b50);
  const extra = at + 46 + dv.getUint16(at + 28, true);
  dv.setBigUint64(extra + 4, size, true);
  dv.setBigUint64(extra + 12, size, true);
  return out;
}

function findSig(b: Uint8Array, sig: number): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + 4 <= b.length; i++) if (dv.getUint32(i, true) === sig) return i;
  throw new Error("signature not found");
}

/** An .npz whose end record points the central directory past the end of the file. */
function cdPastEnd(): Uint8Array {
  const out = zipBytes([{ name: "a.npy", data: npy }]).slice();
  new DataView(out.buffer).setUint32(out.length - 6, out.length + 1000, true);
  return out;
}

/** A .mat file whose one element is `inner` compressed. */
function matCompressed(inner: Uint8Array): Uint8Array {
  const z = new Uint8Array(zlib.deflateSync(inner));
  return concat([matBytes("f", [6, 8], payload, false).subarray(0, 128), u32le(15, z.length), z]);
}

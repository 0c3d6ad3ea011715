/**
 * The CIFAR-10 and STL-10 readers on tiny files written here: the official CIFAR-10 binary
 * archive layout (gzip'd tar of cifar-10-batches-bin/*.bin records), the subset npz from the
 * shared data, STL-10's column-major binary files, and `augerino data --download cifar10`
 * against a local fetch.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { CIFAR10_CLASSES, DataError, decodeStl10, loadCifar10, readCifarArchive, readTar, writeTar, type Fetch } from "../../reproductions/datasets/index.ts";
import { runData } from "../../reproductions/data-command.ts";
import { sharedDataDir, tempDir } from "./fixtures.ts";

const saved = { data: process.env.AUGERINO_DATA_DIR, home: process.env.HOME };
afterEach(() => {
  for (const [k, v] of [
    ["AUGERINO_DATA_DIR", saved.data],
    ["HOME", saved.home],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** `n` CIFAR records: label (i + batch) % 10, pixel p of record i = (i * 7 + p + batch) % 256. */
function records(n: number, batch: number): Uint8Array {
  const out = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    out[i * 3073] = (i + batch) % 10;
    for (let p = 0; p < 3072; p++) out[i * 3073 + 1 + p] = (i * 7 + p + batch) % 256;
  }
  return out;
}

function cifarArchive(perBatch = 3): Uint8Array {
  const files: Record<string, Uint8Array> = { "cifar-10-batches-bin/batches.meta.txt": new TextEncoder().encode(CIFAR10_CLASSES.join("\n")) };
  for (let b = 1; b <= 5; b++) files[`cifar-10-batches-bin/data_batch_${b}.bin`] = records(perBatch, b);
  files["cifar-10-batches-bin/test_batch.bin"] = records(2, 0);
  return zlib.gzipSync(writeTar(files));
}

describe("CIFAR-10 and STL-10 readers", () => {
  it("tar members round-trip, and a corrupt header is a DataError", () => {
    const files = { "a/x.bin": new Uint8Array([1, 2, 3]), "b.txt": new Uint8Array(600).fill(7) };
    const got = readTar(zlib.gzipSync(writeTar(files)), "t.tar.gz");
    expect([...got.keys()]).toEqual(["a/x.bin", "b.txt"]);
    expect(Array.from(got.get("a/x.bin")!)).toEqual([1, 2, 3]);
    expect(got.get("b.txt")!.length).toBe(600);
    const bad = writeTar(files);
    bad.set(new TextEncoder().encode("zz"), 124);
    expect(() => readTar(bad, "bad.tar")).toThrow(DataError);
  });

  it("reads the official binary archive straight from the tar.gz, in record order", async () => {
    process.env.AUGERINO_DATA_DIR = tempDir("cifar-data");
    mkdirSync(join(process.env.AUGERINO_DATA_DIR, "cifar10"));
    writeFileSync(join(process.env.AUGERINO_DATA_DIR, "cifar10", "cifar-10-binary.tar.gz"), cifarArchive());
    const d = loadCifar10();
    expect(d.meta.source).toBe("full");
    expect(d.train.x.shape).toEqual([15, 3, 32, 32]);
    expect(d.test.x.shape).toEqual([2, 3, 32, 32]);
    const y = Array.from(await d.train.y.data());
    // Batches 1..5 in order, three records each.
    expect(y).toEqual([1, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6, 5, 6, 7]);
    const x = await d.train.x.data();
    // Record 4 is record 1 of batch 2: channel 1 (G), row 2, column 5 is pixel p = 1024 + 2 * 32 + 5.
    const p = 1024 + 2 * 32 + 5;
    expect(x[4 * 3072 + p]).toBeCloseTo(((1 * 7 + p + 2) % 256) / 255, 6);
    expect(loadCifar10({ nTrain: 4, nTest: 1 }).train.x.shape).toEqual([4, 3, 32, 32]);
    expect(() => loadCifar10({ nTrain: 16 })).toThrow(/nTrain=16 but the full set holds 15/);
  });

  it("refuses archives without the batches or with torn records", () => {
    expect(() => readCifarArchive(zlib.gzipSync(writeTar({ "x/other.bin": new Uint8Array(3073) })), "a.tar.gz")).toThrow(/no member data_batch_1\.bin/);
    const torn: Record<string, Uint8Array> = {};
    for (let b = 1; b <= 5; b++) torn[`d/data_batch_${b}.bin`] = records(1, b).subarray(0, 3000);
    torn["d/test_batch.bin"] = records(1, 0);
    expect(() => readCifarArchive(writeTar(torn), "torn.tar")).toThrow(/not whole records of 3073 bytes/);
  });

  it.skipIf(!sharedDataDir())("falls back to the subset npz, and says it is the subset", async () => {
    process.env.AUGERINO_DATA_DIR = sharedDataDir()!;
    const d = loadCifar10({ nTrain: 10, nTest: 5 });
    expect(d.meta.source).toBe("subset");
    expect(d.train.x.shape).toEqual([10, 3, 32, 32]);
    const x = await d.train.x.data();
    expect(Math.min(...x)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...x)).toBeLessThanOrEqual(1);
    // The first CIFAR-10 training image is a frog (label 6), the second a truck (9).
    expect(Array.from(await d.train.y.data()).slice(0, 2)).toEqual([6, 9]);
    expect(() => loadCifar10({ nTrain: 933 })).toThrow(/subset holds 932 images.*augerino data --download cifar10/);
  });

  it("reads STL-10's column-major images, shifts labels to 0..9 and box-averages on request", async () => {
    const n = 2;
    const xb = new Uint8Array(n * 3 * 96 * 96);
    // Image i, channel c, row r, column q (stored at q * 96 + r): value (i + c + r + 2 q) % 256.
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) for (let q = 0; q < 96; q++) for (let r = 0; r < 96; r++) xb[(i * 3 + c) * 9216 + q * 96 + r] = (i + c + r + 2 * q) % 256;
    const d = decodeStl10(xb, new Uint8Array([1, 10]), "tiny");
    expect(Array.from(await d.y.data())).toEqual([0, 9]);
    const x = await d.x.data();
    const at = (i: number, c: number, r: number, q: number) => x[((i * 3 + c) * 96 + r) * 96 + q];
    expect(at(1, 2, 5, 7)).toBeCloseTo((1 + 2 + 5 + 14) / 255, 6);
    const small = decodeStl10(xb, new Uint8Array([1, 10]), "tiny", 3);
    expect(small.x.shape).toEqual([2, 3, 32, 32]);
    // The mean over rows 3..5 and columns 0..2 of image 0, channel 0: r + 2 q averages 4 + 2.
    expect((await small.x.data())[32]).toBeCloseTo(6 / 255, 6);
    expect(() => decodeStl10(xb, new Uint8Array([0, 3]), "tiny")).toThrow(/label 0 is 0, expected 1\.\.10/);
    expect(() => decodeStl10(xb.subarray(1), new Uint8Array([1, 2]), "tiny")).toThrow(/not whole images/);
  });

  it("`augerino data --download cifar10` fetches the archive into the cache and checks it", async () => {
    process.env.AUGERINO_DATA_DIR = tempDir("none-cifar");
    process.env.HOME = tempDir("home-cifar");
    const archive = cifarArchive(1);
    const served: string[] = [];
    const local: Fetch = async (url) => {
      served.push(url);
      return { ok: true, status: 200, arrayBuffer: async () => archive.buffer.slice(archive.byteOffset, archive.byteOffset + archive.byteLength) as ArrayBuffer };
    };
    const out: string[] = [];
    const code = await runData(["--download", "cifar10"], { out: (l) => out.push(l), err: (l) => out.push(l), download: { fetch: local } });
    expect(code).toBe(0);
    expect(served).toEqual(["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"]);
    expect(out.join("\n")).toMatch(/OK\s+archive\s+\S*\.cache\/augerino\/cifar10\/cifar-10-binary\.tar\.gz/);
    expect(loadCifar10().meta.source).toBe("full");
  });
});

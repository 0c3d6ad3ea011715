/**
 * Dataset files and builders on the verified data (AUGERINO_DATA_DIR, else /work/shared/data;
 * skipped with a printed reason when absent): checksums, messages, MNIST contents, and the
 * builders' shapes, label balance, angle ranges, determinism and invertibility.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromTyped } from "../../core/array.ts";
import type { Tracer } from "../../core/tracer.ts";
import { warp } from "../../augerino/warp.ts";
import { DataError, loadMnist, marioIggy, MNIST, olivetti, readFaces, readPart, readSprites, rotationMatrices, rotMnist } from "../../reproductions/datasets/index.ts";
import { facesFromMat } from "../../reproductions/datasets/olivetti.ts";
import { parseNpy } from "../../reproductions/datasets/npy.ts";
import { bytesOf, idxBytes, restoreEnv, sharedDataDir, tempDir } from "./fixtures.ts";

const shared = sharedDataDir();
if (!shared) console.log("datasets.test: skipping the data tests: no verified data (set AUGERINO_DATA_DIR or provide /work/shared/data)");
const withData = shared ? describe : describe.skip;

restoreEnv(afterAll, "AUGERINO_DATA_DIR", "HOME");
beforeAll(() => {
  // An empty HOME keeps a user's ~/.cache/augerino out of these tests.
  process.env.HOME = tempDir("home");
  if (shared) process.env.AUGERINO_DATA_DIR = shared;
});

const f32 = async (x: Tracer) => (await x.data()) as Float32Array;
const i32 = async (x: Tracer) => Array.from(await x.data());
/** Bitwise equality of two typed arrays (vitest's deep equality is slow on millions of elements). */
const same = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.compare(bytesOf(a), bytesOf(b)) === 0;
const counts = (ys: number[], k: number) => ys.reduce((c, y) => (c[y]++, c), new Array<number>(k).fill(0));

/** Pearson correlation of a and b over the pixels of [h, w] images within `radius` of the centre. */
function interiorCorrelation(a: Float32Array, b: Float32Array, h: number, w: number, radius: number): number {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const p = i % (h * w);
    const [r, c] = [Math.floor(p / w) - (h - 1) / 2, (p % w) - (w - 1) / 2];
    if (r * r + c * c <= radius * radius) {
      xs.push(a[i]);
      ys.push(b[i]);
    }
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const [ma, mb] = [mean(xs), mean(ys)];
  let [sab, saa, sbb] = [0, 0, 0];
  xs.forEach((x, i) => {
    sab += (x - ma) * (ys[i] - mb);
    saa += (x - ma) ** 2;
    sbb += (ys[i] - mb) ** 2;
  });
  return sab / Math.sqrt(saa * sbb);
}

/** Rotates images [n, c, h, w] back by their recorded angles. */
const unrotate = async (x: Tracer, angles: Float32Array) => f32(warp(x, fromTyped(rotationMatrices(angles.map((a) => -a)), [angles.length, 3, 3], "float32")));

describe("files", () => {
  it("names the missing file, the folders searched and the fix", () => {
    const empty = tempDir("empty");
    process.env.AUGERINO_DATA_DIR = empty;
    try {
      expect(() => readPart(MNIST, "test labels")).toThrow(DataError);
      try {
        readPart(MNIST, "test labels");
      } catch (e) {
        const msg = (e as Error).message;
        expect(msg).not.toContain("\n");
        expect(msg).toMatch(/^mnist: test labels missing: no t10k-labels-idx1-ubyte\.gz or t10k-labels-idx1-ubyte in /);
        expect(msg).toContain(join(empty, "mnist"));
        expect(msg).toContain(join(process.env.HOME!, ".cache", "augerino", "mnist"));
        expect(msg).toContain("AUGERINO_DATA_DIR");
        expect(msg).toContain("augerino data --download");
      }
    } finally {
      if (shared) process.env.AUGERINO_DATA_DIR = shared;
    }
  });

  it.skipIf(!shared)("detects a corrupted, a truncated and an altered-after-verification copy", () => {
    const dir = tempDir("corrupt");
    mkdirSync(join(dir, "mnist"));
    const file = join(dir, "mnist", "t10k-labels-idx1-ubyte.gz");
    const good = readFileSync(join(shared!, "mnist", "t10k-labels-idx1-ubyte.gz"));
    process.env.AUGERINO_DATA_DIR = dir;
    try {
      for (const bad of [Buffer.concat([good.subarray(0, 100), Buffer.from([good[100] ^ 1]), good.subarray(101)]), good.subarray(0, good.length - 10)]) {
        writeFileSync(file, bad);
        expect(() => readPart(MNIST, "test labels")).toThrow(new RegExp(`^mnist: ${file.replace(/[.]/g, "\\.")} is corrupt: checksum mismatch .*augerino data --download`));
      }
      // The digest is cached per (size, mtime): a later change of the file is still noticed.
      copyFileSync(join(shared!, "mnist", "t10k-labels-idx1-ubyte.gz"), file);
      expect(readPart(MNIST, "test labels")!.path).toBe(file);
      const altered = Buffer.from(good);
      altered[50] ^= 0xff;
      writeFileSync(file, altered);
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      expect(() => readPart(MNIST, "test labels")).toThrow(/checksum mismatch/);
    } finally {
      process.env.AUGERINO_DATA_DIR = shared!;
    }
  });

  it("reports bad magic in a file without a published digest (uncompressed name)", () => {
    const dir = tempDir("magic");
    mkdirSync(join(dir, "mnist"));
    writeFileSync(join(dir, "mnist", "t10k-images-idx3-ubyte"), Buffer.from("not an idx file at all"));
    writeFileSync(join(dir, "mnist", "t10k-labels-idx1-ubyte"), idxBytes([3], Uint8Array.from([1, 2, 3])));
    process.env.AUGERINO_DATA_DIR = dir;
    try {
      expect(() => loadMnist("test")).toThrow(/t10k-images-idx3-ubyte: bad magic 6e6f7420, expected 00000803/);
    } finally {
      if (shared) process.env.AUGERINO_DATA_DIR = shared;
    }
  });

  it.skipIf(!shared)("finds files under ~/.cache/augerino when AUGERINO_DATA_DIR lacks them", () => {
    const cache = join(process.env.HOME!, ".cache", "augerino");
    mkdirSync(cache, { recursive: true });
    symlinkSync(join(shared!, "mario-iggy"), join(cache, "mario-iggy"));
    process.env.AUGERINO_DATA_DIR = tempDir("empty2");
    try {
      expect(readSprites().file).toBe(join(cache, "mario-iggy", "images.npz"));
    } finally {
      process.env.AUGERINO_DATA_DIR = shared!;
    }
  });
});

withData("MNIST", () => {
  it("loads the training images available and the test set, in [0, 1] with the known labels", async () => {
    const train = loadMnist("train");
    const test = loadMnist("test");
    expect(train.x.dtype).toBe("float32");
    expect(train.y.dtype).toBe("int32");
    expect([19690, 60000]).toContain(train.x.shape[0]);
    expect(train.x.shape.slice(1)).toEqual([1, 28, 28]);
    expect(test.x.shape).toEqual([10000, 1, 28, 28]);
    expect((await i32(train.y))[0]).toBe(5);
    expect((await i32(train.y)).slice(0, 10)).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect((await i32(test.y)).slice(0, 5)).toEqual([7, 2, 1, 0, 4]);
    expect(counts(await i32(test.y), 10)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    const px = await f32(test.x);
    expect(Math.min(...px.subarray(0, 784 * 50))).toBe(0);
    expect(Math.max(...px.subarray(0, 784 * 50))).toBe(1);
  });
});

withData("rotMNIST", () => {
  let small: Awaited<ReturnType<typeof rotMnist>>;
  beforeAll(async () => {
    small = await rotMnist({ seed: 3, nTrain: 300, nVal: 50, nTest: 200 });
  });

  it("has the requested shapes, labels of the source images and angles in [0, 2 pi)", async () => {
    const src = loadMnist("train", { limit: 350 });
    expect(small.train.x.shape).toEqual([300, 1, 28, 28]);
    expect(small.val!.x.shape).toEqual([50, 1, 28, 28]);
    expect(small.test.x.shape).toEqual([200, 1, 28, 28]);
    expect(await i32(small.train.y)).toEqual((await i32(src.y)).slice(0, 300));
    expect(await i32(small.val!.y)).toEqual((await i32(src.y)).slice(300, 350));
    for (const s of [small.train, small.val!, small.test]) {
      const a = await f32(s.angle);
      expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...a)).toBeLessThan(2 * Math.PI);
    }
    // Roughly uniform: each quarter of the circle gets a fair share of 300 draws.
    expect(
      Math.min(
        ...counts(
          Array.from(await f32(small.train.angle), (a) => Math.floor(a / (Math.PI / 2))),
          4,
        ),
      ),
    ).toBeGreaterThan(45);
    expect(small.meta).toMatchObject({ seed: 3, nTrain: 300, nVal: 50, nTest: 200 });
  });

  it("is deterministic, a prefix of larger builds, and changes with the seed", async () => {
    const again = await rotMnist({ seed: 3, nTrain: 100, nTest: 20 });
    expect(same(await f32(again.train.x), (await f32(small.train.x)).subarray(0, 100 * 784))).toBe(true);
    expect(await f32(again.test.angle)).toEqual((await f32(small.test.angle)).subarray(0, 20));
    const other = await rotMnist({ seed: 4, nTrain: 100, nTest: 0 });
    expect(await f32(other.train.angle)).not.toEqual(await f32(again.train.angle));
  });

  it("rotating back by the recorded angle recovers the digit (interior correlation > 0.9)", async () => {
    const src = await f32(loadMnist("train", { limit: 300 }).x);
    const back = await unrotate(small.train.x, await f32(small.train.angle));
    const corrs = Array.from({ length: 300 }, (_, i) => interiorCorrelation(back.subarray(i * 784, (i + 1) * 784), src.subarray(i * 784, (i + 1) * 784), 28, 28, 12));
    expect(Math.min(...corrs)).toBeGreaterThan(0.9);
    // And the rotated image itself is not the original (the angles are not ~0).
    const rotated = await f32(small.train.x);
    const plain = Array.from({ length: 300 }, (_, i) => interiorCorrelation(rotated.subarray(i * 784, (i + 1) * 784), src.subarray(i * 784, (i + 1) * 784), 28, 28, 12));
    expect(plain.filter((c) => c > 0.9).length).toBeLessThan(60);
  });

  it("rejects a training size beyond the images available with a DataError", async () => {
    await expect(rotMnist({ nTrain: 70000, nTest: 0 })).rejects.toThrow(/mnist: nTrain=70000 but .* holds \d+ images/);
  });
});

withData("Mario-Iggy", () => {
  let d: Awaited<ReturnType<typeof marioIggy>>;
  beforeAll(async () => {
    d = await marioIggy({ seed: 1, nTrain: 400, nTest: 200 });
  });

  it("has balanced labels 2 * character + half and angles in the half-plane ranges", async () => {
    expect(d.train.x.shape).toEqual([400, 3, 32, 32]);
    expect(d.test.x.shape).toEqual([200, 3, 32, 32]);
    expect(d.sprites.mario.shape).toEqual([1, 3, 32, 32]);
    expect(counts(await i32(d.train.y), 4)).toEqual([100, 100, 100, 100]);
    expect(counts(await i32(d.test.y), 4)).toEqual([50, 50, 50, 50]);
    for (const s of [d.train, d.test]) {
      const ys = await i32(s.y);
      (await f32(s.angle)).forEach((a, i) => {
        if (ys[i] % 2 === 0) expect(Math.abs(a)).toBeLessThanOrEqual(Math.PI / 4 + 1e-6);
        else expect(Math.abs(a)).toBeGreaterThanOrEqual((3 * Math.PI) / 4 - 1e-6);
        expect(Math.abs(a)).toBeLessThanOrEqual(Math.PI + 1e-6);
      });
    }
    // Shuffled: the labels are not in blocks.
    expect((await i32(d.train.y)).slice(0, 100).every((y) => y === 0)).toBe(false);
  });

  it("is deterministic for a seed", async () => {
    const again = await marioIggy({ seed: 1, nTrain: 400, nTest: 0 });
    expect(same(await f32(again.train.x), await f32(d.train.x))).toBe(true);
    expect(await i32(again.train.y)).toEqual(await i32(d.train.y));
    expect(await f32((await marioIggy({ seed: 2, nTrain: 4, nTest: 0 })).train.angle)).not.toEqual((await f32(d.train.angle)).subarray(0, 4));
  });

  it("rotating back recovers the labelled character's sprite", async () => {
    const { mario, iggy } = readSprites();
    const back = await unrotate(d.train.x, await f32(d.train.angle));
    const ys = await i32(d.train.y);
    const n = 3 * 32 * 32;
    for (let i = 0; i < 400; i++) {
      const img = back.subarray(i * n, (i + 1) * n);
      const [own, other] = ys[i] < 2 ? [mario, iggy] : [iggy, mario];
      const c = interiorCorrelation(img, own, 32, 32, 13);
      expect(c).toBeGreaterThan(0.9);
      expect(c).toBeGreaterThan(interiorCorrelation(img, other, 32, 32, 13));
    }
  });

  it("wants sizes divisible by 4", async () => {
    await expect(marioIggy({ nTrain: 10, nTest: 4 })).rejects.toThrow(/multiple of 4/);
  });
});

withData("Olivetti", () => {
  let d: Awaited<ReturnType<typeof olivetti>>;
  beforeAll(async () => {
    d = await olivetti({ seed: 5, repeats: 2 });
  });

  it("splits people 0-29 / 30-39, crops 45x45 and targets the angle in [-pi/2, pi/2)", async () => {
    expect(d.train.x.shape).toEqual([600, 1, 45, 45]);
    expect(d.test.x.shape).toEqual([200, 1, 45, 45]);
    expect(new Set(await i32(d.train.person))).toEqual(new Set(Array.from({ length: 30 }, (_, i) => i)));
    expect(new Set(await i32(d.test.person))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => i + 30)));
    for (const s of [d.train, d.test]) {
      expect(await f32(s.y)).toEqual(await f32(s.angle));
      expect(s.y.dtype).toBe("float32");
      const a = await f32(s.angle);
      expect(Math.min(...a)).toBeGreaterThanOrEqual(-Math.PI / 2);
      expect(Math.max(...a)).toBeLessThan(Math.PI / 2);
    }
    const deg = await olivetti({ seed: 5, repeats: 1, targetUnit: "degrees" });
    const rad = await f32(deg.train.angle);
    (await f32(deg.train.y)).forEach((v, i) => expect(v).toBeCloseTo((rad[i] * 180) / Math.PI, 3));
  });

  it("equals warping the whole face and taking rows and columns 9..53", async () => {
    const { faces } = readFaces();
    const a = await f32(d.train.angle);
    const items = [0, 1, 17, 599];
    // Train item j: person floor(j / 20), copy (j % 20 >= 10), face (j % 20) % 10 of that person.
    const faceOf = (j: number) => Math.floor(j / 20) * 10 + ((j % 20) % 10);
    const src = new Float32Array(items.length * 4096);
    items.forEach((j, k) => src.set(faces.subarray(faceOf(j) * 4096, (faceOf(j) + 1) * 4096), k * 4096));
    const full = await f32(warp(fromTyped(src, [items.length, 1, 64, 64], "float32"), fromTyped(rotationMatrices(Float32Array.from(items, (j) => a[j])), [items.length, 3, 3], "float32")));
    const x = await f32(d.train.x);
    items.forEach((j, k) => {
      let maxDiff = 0;
      for (let r = 0; r < 45; r++) for (let c = 0; c < 45; c++) maxDiff = Math.max(maxDiff, Math.abs(x[j * 2025 + r * 45 + c] - full[k * 4096 + (r + 9) * 64 + c + 9]));
      expect(maxDiff).toBeLessThan(1e-4);
    });
  });

  it("rotating a face back recovers it in the interior, and the builder is deterministic", async () => {
    const { faces } = readFaces();
    const angles = Float32Array.from({ length: 20 }, (_, i) => (i / 20 - 0.5) * Math.PI);
    const x = fromTyped(faces.slice(0, 20 * 4096), [20, 1, 64, 64], "float32");
    const there = warp(x, fromTyped(rotationMatrices(angles), [20, 3, 3], "float32"));
    const back = await unrotate(there, angles);
    for (let i = 0; i < 20; i++) expect(interiorCorrelation(back.subarray(i * 4096, (i + 1) * 4096), faces.subarray(i * 4096, (i + 1) * 4096), 64, 64, 28)).toBeGreaterThan(0.9);
    expect(same(await f32((await olivetti({ seed: 5, repeats: 2 })).test.x), await f32(d.test.x))).toBe(true);
  });

  it.skipIf(!shared)("reads the same pixels from olivettifaces.mat as from olivetti_faces.npy", () => {
    const fromMat = facesFromMat(readFileSync(join(shared!, "olivetti", "olivettifaces.mat")), "olivettifaces.mat");
    const npy = parseNpy(readFileSync(join(shared!, "olivetti", "olivetti_faces.npy")), "olivetti_faces.npy").data;
    expect(npy).toBeInstanceOf(Float32Array);
    expect(same(fromMat, npy)).toBe(true);
  });
});

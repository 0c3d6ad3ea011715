/**
 * CIFAR-10 (Krizhevsky 2009): the official binary version, read straight from
 * `cifar-10-binary.tar.gz` (each record is one label byte and 3,072 pixel bytes, R then G then
 * B planes of 32x32, row-major: already [C, H, W]), or the subset in the project's shared data
 * folder (`cifar10-subset`: the first 932 training and 846 test images as npz, the stand-in
 * used when the full set is absent; every result from it says so).
 */
import { fromTyped, type NDArray } from "../../core/array.ts";
import { DataError, locate, readPart, searchDirs, type DatasetSpec } from "./files.ts";
import { parseNpz } from "./npy.ts";
import { readTar } from "./tar.ts";

export const CIFAR10: DatasetSpec = {
  name: "cifar10",
  description: "CIFAR-10, the official binary version (50,000 train / 10,000 test images)",
  parts: [
    {
      role: "archive",
      variants: [
        // Published with an md5 (c32a1d4ab5d03f1284b67883e8d87530) only: the record format is checked instead.
        { name: "cifar-10-binary.tar.gz", sha256: [], url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", note: "official binary version; format checked" },
      ],
    },
  ],
};

export const CIFAR10_SUBSET: DatasetSpec = {
  name: "cifar10-subset",
  description: "the first 932 CIFAR-10 training and 846 test images (a stand-in when the full set is absent)",
  parts: [
    { role: "train", variants: [{ name: "cifar10_data_batch_1_labels10000_images932.npz", sha256: ["e9e22be92d4ed68f6032a0b66d441209827b10baa6fa8006d55296f9d6306656"] }] },
    { role: "test", variants: [{ name: "cifar10_test_labels10000_images846.npz", sha256: ["c8824d17a17c7cf7353c13d61339f8eeeed49fb10d72297fc96e5b12ab5530f4"] }] },
  ],
};

export const CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"] as const;

const RECORD = 1 + 3 * 32 * 32;
const TRAIN_BATCHES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const TEST_BATCH = "test_batch.bin";
/** The inflated archive is 184 MB; this bounds a hostile stream. */
const MAX_ARCHIVE = 200_000_000;

export interface ImageSplit {
  /** float32 [N, C, H, W] in [0, 1]. */
  x: NDArray;
  /** int32 [N] class labels. */
  y: NDArray;
}

export interface Cifar10 {
  train: ImageSplit;
  test: ImageSplit;
  meta: { dataset: "cifar10"; source: "full" | "subset"; files: string[]; nTrain: number; nTest: number; classes: readonly string[] };
}

/** Pixels and labels of the records of CIFAR-10 binary batches, concatenated. */
export function decodeCifarRecords(batches: Uint8Array[], where: string): { pixels: Uint8Array; labels: Uint8Array } {
  const n = batches.reduce((s, b) => {
    if (b.length % RECORD !== 0) throw new DataError(`${where}: a batch of ${b.length} bytes is not whole records of ${RECORD} bytes (1 label + 3,072 pixels)`);
    return s + b.length / RECORD;
  }, 0);
  const pixels = new Uint8Array(n * (RECORD - 1));
  const labels = new Uint8Array(n);
  let i = 0;
  for (const b of batches) {
    for (let r = 0; r < b.length; r += RECORD, i++) {
      labels[i] = b[r];
      if (b[r] > 9) throw new DataError(`${where}: record ${i} has label ${b[r]}, expected 0..9`);
      pixels.set(b.subarray(r + 1, r + RECORD), i * (RECORD - 1));
    }
  }
  return { pixels, labels };
}

/** The train and test records of `cifar-10-binary.tar.gz` (members cifar-10-batches-bin/*.bin). */
export function readCifarArchive(bytes: Uint8Array, where: string): { train: { pixels: Uint8Array; labels: Uint8Array }; test: { pixels: Uint8Array; labels: Uint8Array } } {
  const members = readTar(bytes, where, (p) => p.endsWith(".bin"), MAX_ARCHIVE);
  const get = (name: string) => {
    const hit = [...members.entries()].find(([p]) => p === name || p.endsWith(`/${name}`));
    if (!hit) throw new DataError(`${where}: no member ${name} (has ${[...members.keys()].join(", ") || "no .bin files"}); is this cifar-10-binary.tar.gz?`);
    return hit[1];
  };
  return { train: decodeCifarRecords(TRAIN_BATCHES.map(get), `${where}: training batches`), test: decodeCifarRecords([get(TEST_BATCH)], `${where}: ${TEST_BATCH}`) };
}

/** The images [n, 3, 32, 32] uint8 and their labels out of one subset npz. */
export function readCifarSubsetNpz(bytes: Uint8Array, where: string): { pixels: Uint8Array; labels: Uint8Array } {
  const a = parseNpz(bytes, where);
  const images = a.images;
  const labels = a.labels;
  if (!images || !labels) throw new DataError(`${where}: needs arrays "images" and "labels", has ${Object.keys(a).join(", ")}`);
  if (images.shape.length !== 4 || images.shape.slice(1).join(",") !== "3,32,32" || !(images.data instanceof Uint8Array))
    throw new DataError(`${where}: images must be uint8 [N, 3, 32, 32], got ${images.descr} [${images.shape}]`);
  const n = images.shape[0];
  if (labels.shape.length !== 1 || labels.shape[0] < n) throw new DataError(`${where}: labels [${labels.shape}] cannot label ${n} images`);
  const y = Uint8Array.from(labels.data.subarray(0, n));
  if (y.some((v) => v > 9)) throw new DataError(`${where}: labels outside 0..9`);
  return { pixels: images.data, labels: y };
}

function split(pixels: Uint8Array, labels: Uint8Array, n: number, c = 3, h = 32, w = 32): ImageSplit {
  const size = c * h * w;
  const x = new Float32Array(n * size);
  for (let i = 0; i < n * size; i++) x[i] = pixels[i] / 255;
  return { x: fromTyped(x, [n, c, h, w], "float32"), y: fromTyped(Int32Array.from(labels.subarray(0, n)), [n], "int32") };
}

export interface Cifar10Opts {
  /** "auto" (default): the full set when its archive is found, else the subset. */
  source?: "auto" | "full" | "subset";
  /** The first nTrain training and nTest test images (default all available). */
  nTrain?: number;
  nTest?: number;
}

/**
 * CIFAR-10 as float32 images in [0, 1] and int32 labels, from the full archive or the subset.
 * @example const { train, test, meta } = loadCifar10({ nTrain: 500 }); // meta.source says which
 */
export function loadCifar10(opts: Cifar10Opts = {}): Cifar10 {
  const source = opts.source ?? "auto";
  if (!["auto", "full", "subset"].includes(source)) throw new Error(`loadCifar10: source must be auto, full or subset, got ${source}`);
  const full = source === "full" || (source === "auto" && locate(CIFAR10.name, CIFAR10.parts[0]) !== null);
  let data: { train: { pixels: Uint8Array; labels: Uint8Array }; test: { pixels: Uint8Array; labels: Uint8Array } };
  let files: string[];
  if (full) {
    const part = readPart(CIFAR10, "archive")!;
    data = readCifarArchive(part.bytes, part.path);
    files = [part.path];
  } else {
    if (source === "auto" && CIFAR10_SUBSET.parts.some((p) => !locate(CIFAR10_SUBSET.name, p))) {
      throw new DataError(
        `cifar10: neither the full set (cifar-10-binary.tar.gz in a cifar10/ data folder) nor the subset (cifar10-subset/) was found in ${[CIFAR10.name, CIFAR10_SUBSET.name].flatMap(searchDirs).join(" or ")}; run \`augerino data --download cifar10\` or set AUGERINO_DATA_DIR`,
      );
    }
    const tr = readPart(CIFAR10_SUBSET, "train")!;
    const te = readPart(CIFAR10_SUBSET, "test")!;
    data = { train: readCifarSubsetNpz(tr.bytes, tr.path), test: readCifarSubsetNpz(te.bytes, te.path) };
    files = [tr.path, te.path];
  }
  const take = (what: string, want: number | undefined, have: number) => {
    const n = want ?? have;
    if (!Number.isInteger(n) || n < 0) throw new Error(`loadCifar10: ${what} must be a non-negative integer, got ${n}`);
    if (n > have)
      throw new DataError(
        `cifar10: ${what}=${n} but the ${full ? "full set" : "subset"} holds ${have} images${full ? "" : "; the full set needs cifar-10-binary.tar.gz (augerino data --download cifar10)"}`,
      );
    return n;
  };
  const nTrain = take("nTrain", opts.nTrain, data.train.labels.length);
  const nTest = take("nTest", opts.nTest, data.test.labels.length);
  return {
    train: split(data.train.pixels, data.train.labels, nTrain),
    test: split(data.test.pixels, data.test.labels, nTest),
    meta: { dataset: "cifar10", source: full ? "full" : "subset", files, nTrain, nTest, classes: CIFAR10_CLASSES },
  };
}

/**
 * MNIST in LeCun's idx format, gzip'd or not. The shared data folder holds the genuine test
 * files and training labels, and only the first 19,690 training images (a valid idx3 file
 * with that count); the complete upstream training file is accepted as well.
 */
import { fromTyped, type NDArray } from "../../core/array.ts";
import { DataError, readPart, type DatasetSpec } from "./files.ts";
import { inflateBounded, inflateHead } from "./inflate.ts";

const MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/";

export const MNIST: DatasetSpec = {
  name: "mnist",
  description: "MNIST digits (LeCun et al.), idx format",
  parts: [
    {
      role: "train images",
      variants: [
        {
          name: "train-images-idx3-ubyte.gz",
          sha256: ["440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"],
          url: MIRROR + "train-images-idx3-ubyte.gz",
          note: "60,000 images (upstream)",
        },
        { name: "train-images-idx3-ubyte-first19690.gz", sha256: ["a7e0fd079b2ddac0e0cdcdaad00c96178bb135f519b9b74646137f136b1aa379"], note: "the first 19,690 images (derived)" },
        { name: "train-images-idx3-ubyte", sha256: [], note: "uncompressed; no published digest, format checked" },
      ],
    },
    {
      role: "train labels",
      variants: [
        { name: "train-labels-idx1-ubyte.gz", sha256: ["3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"], url: MIRROR + "train-labels-idx1-ubyte.gz" },
        { name: "train-labels-idx1-ubyte", sha256: [], note: "uncompressed; format checked" },
      ],
    },
    {
      role: "test images",
      variants: [
        { name: "t10k-images-idx3-ubyte.gz", sha256: ["8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"], url: MIRROR + "t10k-images-idx3-ubyte.gz" },
        { name: "t10k-images-idx3-ubyte", sha256: [], note: "uncompressed; format checked" },
      ],
    },
    {
      role: "test labels",
      variants: [
        { name: "t10k-labels-idx1-ubyte.gz", sha256: ["f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"], url: MIRROR + "t10k-labels-idx1-ubyte.gz" },
        { name: "t10k-labels-idx1-ubyte", sha256: [], note: "uncompressed; format checked" },
      ],
    },
  ],
};

export interface Idx {
  /** Dimensions from the header, e.g. [19690, 28, 28] or [60000]. */
  dims: number[];
  data: Uint8Array;
}

/**
 * Parses an idx file of unsigned bytes (gzip'd or not): magic 0x0000 08 <ndim>, big-endian
 * dimensions, then the bytes. Trailing bytes are an error too (a file of another kind).
 * @example parseIdx(readFileSync("t10k-labels-idx1-ubyte.gz"), "t10k-labels-idx1-ubyte.gz", 1).dims // [10000]
 */
export function parseIdx(bytes: Uint8Array, file: string, ndim: number): Idx {
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
  // A gzip'd file inflates to exactly what its header declares; reading the header first bounds the rest.
  let raw = gzip ? inflateHead("gunzip", bytes, 4 + 4 * ndim, file) : bytes;
  if (raw.length < 4 + 4 * ndim || raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 0x08 || raw[3] !== ndim) {
    const got = Array.from(raw.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
    throw new DataError(`${file}: bad magic ${got}, expected 000008${ndim.toString(16).padStart(2, "0")} (an idx${ndim} file of unsigned bytes)`);
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (gzip) raw = inflateBounded("gunzip", bytes, start + size, file);
  if (raw.length !== start + size) throw new DataError(`${file}: ${raw.length - start} data bytes for header dims [${dims}] (${size} expected); truncated?`);
  return { dims, data: raw.subarray(start) };
}

/** Structural check used by `augerino data --check`. */
export function validateMnistPart(role: string, bytes: Uint8Array, path: string): void {
  const idx = parseIdx(bytes, path, role.endsWith("images") ? 3 : 1);
  if (role.endsWith("images") && (idx.dims[1] !== 28 || idx.dims[2] !== 28)) throw new DataError(`${path}: images are ${idx.dims[1]}x${idx.dims[2]}, expected 28x28`);
}

export interface MnistRaw {
  /** uint8 pixels, [n, 28, 28] row-major. */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  files: string[];
}

/**
 * The raw bytes of a split. For "train", n is the number of images in the images file
 * (19,690 with the shared copy, 60,000 with the upstream file); labels are cut to match.
 */
export function readMnistRaw(split: "train" | "test"): MnistRaw {
  const img = readPart(MNIST, `${split} images`)!;
  const lab = readPart(MNIST, `${split} labels`)!;
  const images = parseIdx(img.bytes, img.path, 3);
  const labels = parseIdx(lab.bytes, lab.path, 1);
  if (images.dims[1] !== 28 || images.dims[2] !== 28) throw new DataError(`${img.path}: images are ${images.dims[1]}x${images.dims[2]}, expected 28x28`);
  const n = images.dims[0];
  if (labels.dims[0] < n) throw new DataError(`${lab.path}: ${labels.dims[0]} labels for ${n} images in ${img.path}; use files from the same release`);
  for (let i = 0; i < n; i++) if (labels.data[i] > 9) throw new DataError(`${lab.path}: label ${labels.data[i]} at ${i} is not a digit`);
  return { images: images.data, labels: labels.data.subarray(0, n), n, files: [img.path, lab.path] };
}

/**
 * MNIST as library arrays: x float32 [N, 1, 28, 28] in [0, 1], y int32 [N].
 * @example const { x, y } = loadMnist("test"); // x [10000, 1, 28, 28]
 */
export function loadMnist(split: "train" | "test", opts: { limit?: number } = {}): { x: NDArray; y: NDArray; files: string[] } {
  const raw = readMnistRaw(split);
  const n = Math.min(raw.n, opts.limit ?? raw.n);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = raw.images[i] / 255;
  const y = Int32Array.from(raw.labels.subarray(0, n));
  return { x: fromTyped(x, [n, 1, 28, 28], "float32"), y: fromTyped(y, [n], "int32"), files: raw.files };
}

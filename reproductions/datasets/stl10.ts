/**
 * STL-10 (Coates et al. 2011), the binary version (the files of stl10_binary.tar.gz,
 * extracted): `train_X.bin` / `test_X.bin` hold uint8 images of 3 x 96 x 96, each channel
 * stored column-major (MATLAB order), and `train_y.bin` / `test_y.bin` labels 1..10. Not
 * available on these machines; the color experiment uses it when a user has it. `downsample`
 * averages f x f blocks (96 -> 32 with f = 3), for CPU budgets.
 */
import { fromTyped } from "../../core/array.ts";
import { DataError, readPart, type DatasetSpec } from "./files.ts";
import type { ImageSplit } from "./cifar10.ts";

const side = 96;
const IMAGE = 3 * side * side;

const file = (name: string, note: string) => ({
  role: name.replace(".bin", ""),
  variants: [{ name, sha256: [], note: `${note}; from stl10_binary.tar.gz (https://cs.stanford.edu/~acoates/stl10/), format checked` }],
});

export const STL10: DatasetSpec = {
  name: "stl10",
  description: "STL-10, the binary version (5,000 train / 8,000 test labelled images of 96x96)",
  parts: [file("train_X.bin", "training images"), file("train_y.bin", "training labels"), file("test_X.bin", "test images"), file("test_y.bin", "test labels")],
};

export const STL10_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"] as const;

/**
 * Images [N, 3, 96/f, 96/f] float32 in [0, 1] and labels 0..9 (the file's 1..10 less one)
 * from the bytes of an X and a y file.
 */
export function decodeStl10(xBytes: Uint8Array, yBytes: Uint8Array, where: string, downsample = 1): ImageSplit {
  if (!Number.isInteger(downsample) || downsample < 1 || side % downsample !== 0) throw new Error(`stl10: downsample must be a whole divisor of 96, got ${downsample}`);
  if (xBytes.length % IMAGE !== 0) throw new DataError(`${where}: ${xBytes.length} image bytes are not whole images of 3x96x96`);
  const n = xBytes.length / IMAGE;
  if (yBytes.length !== n) throw new DataError(`${where}: ${yBytes.length} labels for ${n} images`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (yBytes[i] < 1 || yBytes[i] > 10) throw new DataError(`${where}: label ${i} is ${yBytes[i]}, expected 1..10`);
    labels[i] = yBytes[i] - 1;
  }
  const s = side / downsample;
  const x = new Float32Array(n * 3 * s * s);
  const scale = 1 / (255 * downsample * downsample);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const src = i * IMAGE + c * side * side;
      const dst = (i * 3 + c) * s * s;
      // Column-major source: pixel (row r, column q) is at q * 96 + r.
      for (let q = 0; q < side; q++) for (let r = 0; r < side; r++) x[dst + Math.floor(r / downsample) * s + Math.floor(q / downsample)] += xBytes[src + q * side + r] * scale;
    }
  }
  return { x: fromTyped(x, [n, 3, s, s], "float32"), y: fromTyped(labels, [n], "int32") };
}

/** `augerino data --check` on one file: whole images, or labels in 1..10. */
export function checkStl10Part(role: string, bytes: Uint8Array, path: string): void {
  if (role.endsWith("_X")) {
    if (bytes.length === 0 || bytes.length % IMAGE !== 0) throw new DataError(`${path}: ${bytes.length} bytes are not whole images of 3x96x96`);
  } else if (bytes.some((b) => b < 1 || b > 10)) throw new DataError(`${path}: labels outside 1..10`);
}

/**
 * STL-10's labelled train and test images.
 * @example const { train, test } = loadStl10({ downsample: 3 }); // train.x [5000, 3, 32, 32]
 */
export function loadStl10(opts: { downsample?: number } = {}): { train: ImageSplit; test: ImageSplit; files: string[] } {
  const read = (role: string) => readPart(STL10, role)!;
  const [tx, ty, vx, vy] = ["train_X", "train_y", "test_X", "test_y"].map(read);
  return {
    train: decodeStl10(tx.bytes, ty.bytes, tx.path, opts.downsample),
    test: decodeStl10(vx.bytes, vy.bytes, vx.path, opts.downsample),
    files: [tx.path, ty.path, vx.path, vy.path],
  };
}

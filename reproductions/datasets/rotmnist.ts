/**
 * Rotated MNIST as the reference code builds it (augerino/datasets.py RotMNIST): every
 * digit, train and test, rotated once by an angle uniform in [0, 2 pi) with bilinear
 * affine_grid / grid_sample, under a fixed data seed. Training uses the first 12,000
 * training images (the size of Larochelle et al.'s rotated-MNIST training set); the rest of
 * the available training images may serve as validation.
 */
import { fromTyped, type NDArray } from "../../core/array.ts";
import { DataError } from "./files.ts";
import { readMnistRaw, type MnistRaw } from "./mnist.ts";
import { rotateImages, uniformAngles } from "./rotate.ts";

export interface RotMnistOpts {
  /** The data seed (default 0): fixes every angle. */
  seed?: number;
  /** Training images, the first ones of the training file (default 12,000). */
  nTrain?: number;
  /** Validation images, the ones after the training images (default 0; Infinity for all the rest). */
  nVal?: number;
  /** Test images, the first ones of the test file (default all 10,000). */
  nTest?: number;
}

export interface RotatedSplit {
  /** float32 [N, C, H, W] in [0, 1]. */
  x: NDArray;
  /** int32 [N] class labels (or float32 targets for regression sets). */
  y: NDArray;
  /** float32 [N]: the angle (radians) each image was rotated by. */
  angle: NDArray;
}

export interface RotMnist {
  train: RotatedSplit;
  val?: RotatedSplit;
  test: RotatedSplit;
  meta: { dataset: "rotmnist"; files: string[]; seed: number; nTrain: number; nVal: number; nTest: number; trainAvailable: number; angleRange: [number, number] };
}

/**
 * Builds rotated MNIST. Image i of a split is rotated by warp with the matrix
 * [[cos a, -sin a, 0], [sin a, cos a, 0], [0, 0, 1]], a = angle[i], which depends only on
 * (seed, split, i): a smaller nTrain gives a prefix of the larger set. The warping runs on
 * the CPU backend; the results land on the default one.
 * @example const { train, test } = await rotMnist({ seed: 0, nTrain: 1000, nTest: 500 }); // train.x [1000, 1, 28, 28]
 */
export async function rotMnist(opts: RotMnistOpts = {}): Promise<RotMnist> {
  const seed = opts.seed ?? 0;
  const trainRaw = readMnistRaw("train");
  const testRaw = readMnistRaw("test");
  const nTrain = opts.nTrain ?? 12000;
  const nVal = Math.max(0, Math.min(opts.nVal ?? 0, trainRaw.n - nTrain));
  const nTest = Math.min(opts.nTest ?? testRaw.n, testRaw.n);
  if (!Number.isInteger(nTrain) || nTrain < 0) throw new Error(`rotMnist: nTrain must be a non-negative integer, got ${nTrain}`);
  if (nTrain > trainRaw.n)
    throw new DataError(`mnist: nTrain=${nTrain} but ${trainRaw.files[0]} holds ${trainRaw.n} images; use the full train-images-idx3-ubyte.gz (augerino data --download) or a smaller nTrain`);
  // Stream 0 draws the training file's angles (train, then validation), stream 1 the test file's.
  const split = async (raw: MnistRaw, stream: number, start: number, n: number): Promise<RotatedSplit> => {
    const angles = uniformAngles(seed, stream, start, n, 0, 2 * Math.PI);
    const pixels = (i: number, out: Float32Array, at: number) => {
      const src = raw.images.subarray((start + i) * 784, (start + i + 1) * 784);
      for (let p = 0; p < 784; p++) out[at + p] = src[p] / 255;
    };
    const x = await rotateImages(pixels, [n, 1, 28, 28], angles);
    return {
      x: fromTyped(x, [n, 1, 28, 28], "float32"),
      y: fromTyped(Int32Array.from(raw.labels.subarray(start, start + n)), [n], "int32"),
      angle: fromTyped(angles, [n], "float32"),
    };
  };
  const train = await split(trainRaw, 0, 0, nTrain);
  const val = nVal > 0 ? await split(trainRaw, 0, nTrain, nVal) : undefined;
  const test = await split(testRaw, 1, 0, nTest);
  return {
    train,
    ...(val ? { val } : {}),
    test,
    meta: { dataset: "rotmnist", files: [...trainRaw.files, ...testRaw.files], seed, nTrain, nVal, nTest, trainAvailable: trainRaw.n, angleRange: [0, 2 * Math.PI] },
  };
}

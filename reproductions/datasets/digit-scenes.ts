/**
 * A rotated segmentation set built from MNIST, standing in for the paper's rotated CamVid
 * (Fig. 7), which is not available here: two digits (halved to 14x14) placed opposite each
 * other about the centre of a 32x32 canvas, each pixel labelled 0 (background) or 1 + the
 * index of its digit in `digits` (where the digit's ink exceeds 0.3), and the whole scene,
 * image and label maps together, rotated by an angle uniform in [0, 2 pi) (bilinear, so the
 * label maps are soft at edges; outside the canvas they are all zero, i.e. unlabelled).
 */
import { fromTyped, type NDArray } from "../../core/array.ts";
import { readMnistRaw } from "./mnist.ts";
import { rotateImages, uniformAngles } from "./rotate.ts";

const SIDE = 32;
const DIGIT = 14;
const INK = 0.3;

export interface DigitScenesOpts {
  /** Which digits appear (default 0, 1, 2): classes are background and one per digit. */
  digits?: number[];
  nTrain: number;
  nTest: number;
  seed?: number;
}

export interface SegmentationSplit {
  /** float32 [N, 1, 32, 32] in [0, 1]. */
  x: NDArray;
  /** float32 [N, K, 32, 32]: per-pixel class weights (one-hot inside, soft at rotated edges, 0 outside the canvas). */
  y: NDArray;
  angle: Float32Array;
}

export interface DigitScenes {
  train: SegmentationSplit;
  test: SegmentationSplit;
  classes: string[];
}

/**
 * Builds the train scenes from MNIST's training images and the test scenes from its test images.
 * @example const { train } = await digitScenes({ nTrain: 1000, nTest: 200 }); // train.y [1000, 4, 32, 32]
 */
export async function digitScenes(opts: DigitScenesOpts): Promise<DigitScenes> {
  const digits = opts.digits ?? [0, 1, 2];
  const seed = opts.seed ?? 0;
  if (!Array.isArray(digits) || digits.length === 0 || digits.some((d) => !Number.isInteger(d) || d < 0 || d > 9) || new Set(digits).size !== digits.length) {
    throw new Error(`digitScenes: digits must be distinct integers 0..9, got ${JSON.stringify(digits)}`);
  }
  const k = 1 + digits.length;
  const build = async (split: "train" | "test", stream: number, n: number): Promise<SegmentationSplit> => {
    const raw = readMnistRaw(split);
    const pool: number[] = [];
    for (let i = 0; i < raw.n && pool.length < 2 * n; i++) if (digits.includes(raw.labels[i])) pool.push(i);
    if (pool.length < 2 * n) throw new Error(`digitScenes: ${n} ${split} scenes need ${2 * n} images of digits ${digits}, MNIST ${split} has ${pool.length}`);
    const phis = uniformAngles(seed, [stream, 0], 0, n, 0, 2 * Math.PI);
    const angles = uniformAngles(seed, [stream, 1], 0, n, 0, 2 * Math.PI);
    const scene = (i: number, out: Float32Array, at: number) => {
      // Channel 0 is the image, channels 1..k the label maps (background first).
      const plane = SIDE * SIDE;
      out.fill(0, at, at + (1 + k) * plane);
      out.fill(1, at + plane, at + 2 * plane);
      for (const [j, sign] of [
        [0, 1],
        [1, -1],
      ] as const) {
        const src = pool[2 * i + j];
        const cls = 1 + digits.indexOf(raw.labels[src]);
        const cy = Math.round(SIDE / 2 + sign * 6 * Math.sin(phis[i]) - DIGIT / 2);
        const cx = Math.round(SIDE / 2 + sign * 6 * Math.cos(phis[i]) - DIGIT / 2);
        for (let r = 0; r < DIGIT; r++) {
          for (let q = 0; q < DIGIT; q++) {
            const y = cy + r;
            const x = cx + q;
            if (y < 0 || y >= SIDE || x < 0 || x >= SIDE) continue;
            const base = src * 784 + 2 * r * 28 + 2 * q;
            const v = (raw.images[base] + raw.images[base + 1] + raw.images[base + 28] + raw.images[base + 29]) / (4 * 255);
            const p = y * SIDE + x;
            out[at + p] = Math.max(out[at + p], v);
            if (v > INK) {
              for (let c = 0; c < k; c++) out[at + (1 + c) * plane + p] = 0;
              out[at + (1 + cls) * plane + p] = 1;
            }
          }
        }
      }
    };
    const both = await rotateImages(scene, [n, 1 + k, SIDE, SIDE], angles);
    const plane = SIDE * SIDE;
    const x = new Float32Array(n * plane);
    const y = new Float32Array(n * k * plane);
    for (let i = 0; i < n; i++) {
      x.set(both.subarray(i * (1 + k) * plane, (i * (1 + k) + 1) * plane), i * plane);
      y.set(both.subarray((i * (1 + k) + 1) * plane, (i + 1) * (1 + k) * plane), i * k * plane);
    }
    return { x: fromTyped(x, [n, 1, SIDE, SIDE], "float32"), y: fromTyped(y, [n, k, SIDE, SIDE], "float32"), angle: angles };
  };
  return { train: await build("train", 0, opts.nTrain), test: await build("test", 1, opts.nTest), classes: ["background", ...digits.map((d) => `digit ${d}`)] };
}

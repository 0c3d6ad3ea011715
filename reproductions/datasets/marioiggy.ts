/**
 * The Mario-Iggy set of the paper's sec. 4.2, as the reference's
 * experiments/mario-iggy/data/generate_data.py builds it: the two 32x32 RGB sprites, each
 * rotated by an angle uniform in [-pi/4, pi/4] (upper half-plane) or in that range shifted
 * by pi (lower half-plane), half the images of each character in each half-plane, shuffled.
 *
 * Labels (4 classes): label = 2 * character + half, character 0 = Mario, 1 = Iggy, half 0 =
 * upper ([-pi/4, pi/4)), 1 = lower. So 0 = Mario up, 1 = Mario down, 2 = Iggy up, 3 = Iggy down.
 * Recorded angles lie in [-pi, pi): lower-half angles are wrapped as in the reference.
 * Image i is warp(sprite, [[cos a, -sin a, 0], [sin a, cos a, 0], [0, 0, 1]]), a = angle[i]
 * (the reference passes the transpose, i.e. -a, which draws from the same symmetric ranges).
 */
import { fromTyped, type NDArray } from "../../core/array.ts";
import { DataError, readPart, type DatasetSpec } from "./files.ts";
import { parseNpz } from "./npy.ts";
import { permutation, rotateImages, uniformAngles } from "./rotate.ts";
import type { RotatedSplit } from "./rotmnist.ts";

export const MARIO_IGGY: DatasetSpec = {
  name: "mario-iggy",
  description: "the Mario and Iggy sprites of the paper's sec. 4.2 (reference repository)",
  parts: [
    {
      role: "sprites",
      variants: [
        {
          name: "images.npz",
          sha256: ["41d9671c1f3b732f87614c7fdf9ba270ee6d583f325051cacfb35daa1c9594c5"],
          url: "https://raw.githubusercontent.com/g-benton/learning-invariances/master/experiments/mario-iggy/data/images.npz",
        },
      ],
    },
  ],
};

export const MARIO_IGGY_CLASSES = ["Mario, upper half-plane", "Mario, lower half-plane", "Iggy, upper half-plane", "Iggy, lower half-plane"] as const;

/** The two sprites as float32 [3 * 32 * 32] each (C, H, W), values in [0, 1]. */
export function readSprites(): { mario: Float32Array; iggy: Float32Array; file: string } {
  const part = readPart(MARIO_IGGY, "sprites")!;
  const arrays = parseNpz(part.bytes, part.path);
  const get = (name: string) => {
    const a = arrays[name];
    if (!a) throw new DataError(`${part.path}: no array "${name}" (has ${Object.keys(arrays).join(", ")}); replace it with the reference's images.npz`);
    if (a.shape.join(",") !== "1,3,32,32") throw new DataError(`${part.path}: "${name}" has shape [${a.shape}], expected [1, 3, 32, 32]`);
    return Float32Array.from(a.data);
  };
  return { mario: get("mario"), iggy: get("iggy"), file: part.path };
}

export interface MarioIggyOpts {
  /** Data seed (default 0). */
  seed?: number;
  /** Training images (default 10,000), a multiple of 4. */
  nTrain?: number;
  /** Test images (default 5,000), a multiple of 4. */
  nTest?: number;
}

export interface MarioIggy {
  /** x float32 [N, 3, 32, 32], y int32 [N] in 0..3 (see MARIO_IGGY_CLASSES), angle float32 [N] in [-pi, pi). */
  train: RotatedSplit;
  test: RotatedSplit;
  /** The unrotated sprites, float32 [1, 3, 32, 32] each (for Fig. 3's probability-vs-angle sweep). */
  sprites: { mario: NDArray; iggy: NDArray };
  meta: { dataset: "mario-iggy"; files: string[]; seed: number; nTrain: number; nTest: number; classes: readonly string[]; trueWidth: number };
}

/**
 * Builds the Mario-Iggy train and test sets. The warping runs on the CPU backend; the
 * results land on the default one.
 * @example const { train, sprites } = await marioIggy({ seed: 0, nTrain: 1000, nTest: 200 }); // train.x [1000, 3, 32, 32]
 */
export async function marioIggy(opts: MarioIggyOpts = {}): Promise<MarioIggy> {
  const seed = opts.seed ?? 0;
  const nTrain = opts.nTrain ?? 10000;
  const nTest = opts.nTest ?? 5000;
  for (const [k, v] of [
    ["nTrain", nTrain],
    ["nTest", nTest],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v % 4 !== 0) throw new Error(`marioIggy: ${k} must be a non-negative multiple of 4 (2 characters x 2 half-planes), got ${v}`);
  }
  const sprites = readSprites();
  // Split s draws its base angles from stream [s, 0] and its shuffle from [s, 1].
  const split = async (s: number, n: number): Promise<RotatedSplit> => {
    const q = n / 4;
    const base = uniformAngles(seed, [s, 0], 0, n, -Math.PI / 4, Math.PI / 4);
    // Before shuffling: Mario up, Mario down, Iggy up, Iggy down, q each (label = block index).
    const perm = permutation(seed, [s, 1], n);
    const labels = new Int32Array(n);
    const angles = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const j = perm[i];
      labels[i] = Math.floor(j / q);
      let a = base[j];
      if (labels[i] % 2 === 1) {
        a += Math.PI;
        if (a >= Math.PI) a -= 2 * Math.PI;
      }
      angles[i] = a;
    }
    const pixels = (i: number, out: Float32Array, at: number) => out.set(labels[i] < 2 ? sprites.mario : sprites.iggy, at);
    const x = await rotateImages(pixels, [n, 3, 32, 32], angles);
    return { x: fromTyped(x, [n, 3, 32, 32], "float32"), y: fromTyped(labels, [n], "int32"), angle: fromTyped(angles, [n], "float32") };
  };
  const train = await split(0, nTrain);
  const test = await split(1, nTest);
  const sprite = (d: Float32Array) => fromTyped(d, [1, 3, 32, 32], "float32");
  return {
    train,
    test,
    sprites: { mario: sprite(sprites.mario), iggy: sprite(sprites.iggy) },
    meta: { dataset: "mario-iggy", files: [sprites.file], seed, nTrain, nTest, classes: MARIO_IGGY_CLASSES, trueWidth: Math.PI / 2 },
  };
}

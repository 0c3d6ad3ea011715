/**
 * CamVid (Brostow et al.) in the SegNet layout, for users who have it: a `camvid/` data folder
 * with `train/`, `trainannot/`, `test/` and `testannot/` PNGs of 360x480 (RGB images; label
 * maps of class indices 0..10, 11 = unlabelled), image and label sharing a file name. Loaded
 * rotated as the paper's Fig. 7 (each scene and its label map by an angle uniform in
 * [0, 2 pi)), box-averaged by `downsample` for CPU budgets, labels as per-pixel class weights
 * (0 where unlabelled or outside the rotated frame).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromTyped } from "../../core/array.ts";
import { DataError, FIX, searchDirs } from "./files.ts";
import { decodePng } from "./png.ts";
import { rotateImages, uniformAngles } from "./rotate.ts";
import type { SegmentationSplit } from "./digit-scenes.ts";

export const CAMVID_CLASSES = ["sky", "building", "pole", "road", "pavement", "tree", "sign", "fence", "car", "pedestrian", "bicyclist"] as const;

/** The first data folder holding CamVid's SegNet layout, or null. */
export function camvidDir(): string | null {
  return searchDirs("camvid").find((d) => ["train", "trainannot", "test", "testannot"].every((s) => existsSync(join(d, s)))) ?? null;
}

export interface CamVidOpts {
  /** Images per split (default all), the first in file-name order. */
  nTrain?: number;
  nTest?: number;
  /** Box-average factor (default 3: 360x480 -> 120x160). */
  downsample?: number;
  seed?: number;
}

/**
 * Rotated CamVid: x float32 [N, 3, H/f, W/f] in [0, 1], y float32 [N, 11, H/f, W/f].
 * @example const { train, test } = await loadCamVid({ nTrain: 100, nTest: 50 });
 */
export async function loadCamVid(opts: CamVidOpts = {}): Promise<{ train: SegmentationSplit; test: SegmentationSplit; classes: string[] }> {
  const dir = camvidDir();
  if (!dir) throw new DataError(`camvid: no train/, trainannot/, test/, testannot/ (SegNet layout) in ${searchDirs("camvid").join(" or ")}; ${FIX}`);
  const f = opts.downsample ?? 3;
  const k = CAMVID_CLASSES.length;
  const split = async (name: "train" | "test", stream: number, limit?: number): Promise<SegmentationSplit> => {
    const files = readdirSync(join(dir, name))
      .filter((n) => n.endsWith(".png"))
      .sort()
      .slice(0, limit);
    if (files.length === 0) throw new DataError(`camvid: no PNG images in ${join(dir, name)}`);
    const decoded = files.map((file) => {
      const img = decodePng(readFileSync(join(dir, name, file)), join(dir, name, file));
      const labPath = join(dir, `${name}annot`, file);
      if (!existsSync(labPath)) throw new DataError(`camvid: ${file} has no label map ${labPath}`);
      const lab = decodePng(readFileSync(labPath), labPath);
      if (img.channels < 3 || lab.channels !== 1 || img.width !== lab.width || img.height !== lab.height)
        throw new DataError(`camvid: ${file}: expected an RGB image and a one-channel label map of one size`);
      return { img, lab };
    });
    const { width, height } = decoded[0].img;
    if (width % f !== 0 || height % f !== 0 || decoded.some((d) => d.img.width !== width || d.img.height !== height))
      throw new DataError(`camvid: images must share one size divisible by ${f}, got ${width}x${height} first`);
    const [h, w] = [height / f, width / f];
    const plane = h * w;
    const scene = (i: number, out: Float32Array, at: number) => {
      const { img, lab } = decoded[i];
      out.fill(0, at, at + (3 + k) * plane);
      const norm = 1 / (f * f);
      for (let r = 0; r < height; r++) {
        for (let q = 0; q < width; q++) {
          const p = Math.floor(r / f) * w + Math.floor(q / f);
          const src = r * width + q;
          for (let c = 0; c < 3; c++) out[at + c * plane + p] += (img.data[src * img.channels + c] / 255) * norm;
          const cls = lab.data[src];
          if (cls < k) out[at + (3 + cls) * plane + p] += norm;
        }
      }
    };
    const n = files.length;
    const angles = uniformAngles(opts.seed ?? 0, [stream, 1], 0, n, 0, 2 * Math.PI);
    const both = await rotateImages(scene, [n, 3 + k, h, w], angles);
    const x = new Float32Array(n * 3 * plane);
    const y = new Float32Array(n * k * plane);
    for (let i = 0; i < n; i++) {
      x.set(both.subarray(i * (3 + k) * plane, (i * (3 + k) + 3) * plane), i * 3 * plane);
      y.set(both.subarray((i * (3 + k) + 3) * plane, (i + 1) * (3 + k) * plane), i * k * plane);
    }
    return { x: fromTyped(x, [n, 3, h, w], "float32"), y: fromTyped(y, [n, k, h, w], "float32"), angle: angles };
  };
  return { train: await split("train", 0, opts.nTrain), test: await split("test", 1, opts.nTest), classes: [...CAMVID_CLASSES] };
}

/**
 * Rotated Olivetti faces (the paper's sec. 4.3), after the reference's
 * experiments/olivetti/data/dataset_maker.py: each of the 400 faces (40 people x 10) is
 * rotated by an angle uniform in [-pi/2, pi/2], `repeats` times (default 1, 300 train / 100
 * test; the reference makes 30 copies, 9,000 / 3,000), and the central 45x45 pixels are
 * kept (int(sqrt(2) * 64 / 2) = 45, the largest square that stays inside the rotated image
 * at every angle): rows and columns 9..53 of the rotated 64x64 image, as the reference's
 * crop_around_center. The target is the angle, in radians (the reference saves degrees:
 * `targetUnit: "degrees"`). People 0-29 train, 30-39 test (person id = face index // 10;
 * the reference draws the 30 training people at random).
 */
import { fromTyped, type NDArray } from "../../core/array.ts";
import { DataError, readPart, type DatasetSpec } from "./files.ts";
import { parseMat } from "./matv5.ts";
import { parseNpy } from "./npy.ts";
import { rotateImages, uniformAngles } from "./rotate.ts";
import type { RotatedSplit } from "./rotmnist.ts";

export const OLIVETTI: DatasetSpec = {
  name: "olivetti",
  description: "Olivetti faces (AT&T), 400 images 64x64 of 40 people",
  parts: [
    {
      role: "faces",
      variants: [
        { name: "olivetti_faces.npy", sha256: ["ee4c0bdf23ebef66f534aaea556c84e3b798f30e7b53d5fd269533bd1d88b807"], note: "scikit-learn's images, float32 [400, 64, 64]" },
        {
          name: "olivettifaces.mat",
          // The figshare copy scikit-learn fetches, and Roweis' re-saved file (same pixels).
          sha256: ["b612fb967f2dc77c9c62d3e1266e0c73d5fca46a4b8906c18e454d41af987794", "b1988d02c72fe5b8ee82b5ef3bb7982eafc74f1e1ff0ae0ade35061ad0af534d"],
          url: "https://ndownloader.figshare.com/files/5976027",
          note: "MATLAB v5, uint8 faces 4096x400",
        },
      ],
    },
    {
      role: "targets",
      optional: true,
      variants: [{ name: "olivetti_faces_target.npy", sha256: ["6b5231638be0dbd85128e0f8684dc477f9e475b26f156714074b4f1f7853f942"], note: "person ids; index // 10 when absent" }],
    },
  ],
};

/**
 * The faces as scikit-learn's fetch_olivetti_faces returns them: float32 [400 * 64 * 64]
 * in [0, 1], and person ids. From the .mat: transpose, subtract the minimum, divide by the
 * maximum, each image transposed (MATLAB stores them column-major).
 */
export function readFaces(): { faces: Float32Array; person: Int32Array; files: string[] } {
  const part = readPart(OLIVETTI, "faces")!;
  let faces: Float32Array;
  if (part.variant.name.endsWith(".npy")) {
    const a = parseNpy(part.bytes, part.path);
    if (a.shape.join(",") !== "400,64,64" || !(a.data instanceof Float32Array)) throw new DataError(`${part.path}: expected float32 [400, 64, 64], got ${a.descr} [${a.shape}]`);
    faces = a.data;
  } else faces = facesFromMat(part.bytes, part.path);
  const files = [part.path];
  let person = Int32Array.from({ length: 400 }, (_, i) => Math.floor(i / 10));
  const targets = readPart(OLIVETTI, "targets");
  if (targets) {
    const t = parseNpy(targets.bytes, targets.path);
    if (t.shape.join(",") !== "400") throw new DataError(`${targets.path}: expected 400 person ids, got shape [${t.shape}]`);
    person = Int32Array.from(t.data);
    files.push(targets.path);
  }
  return { faces, person, files };
}

export function facesFromMat(bytes: Uint8Array, path: string): Float32Array {
  const v = parseMat(bytes, path).faces;
  if (!v || v.dims.join(",") !== "4096,400") throw new DataError(`${path}: expected a variable "faces" 4096x400, got ${v ? `[${v.dims}]` : "none"}`);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.data.length; i++) {
    if (v.data[i] < min) min = v.data[i];
    if (v.data[i] > max) max = v.data[i];
  }
  const range = Math.fround(max - min);
  const out = new Float32Array(400 * 4096);
  // image[k][r][c] = faces(64 c + r, k) (column-major 64x64 inside column k), in float32 as scikit-learn.
  for (let k = 0; k < 400; k++) for (let r = 0; r < 64; r++) for (let c = 0; c < 64; c++) out[k * 4096 + r * 64 + c] = Math.fround(v.data[k * 4096 + c * 64 + r] - min) / range;
  return out;
}

export interface OlivettiOpts {
  /** Data seed (default 0). */
  seed?: number;
  /** Rotated copies of each face (default 1: 300 train / 100 test; the reference uses 30). */
  repeats?: number;
  /** Target unit: "radians" (default) or "degrees" (what the reference's dataset_maker.py saves). */
  targetUnit?: "radians" | "degrees";
}

export interface Olivetti {
  /** x float32 [N, 1, 45, 45], y float32 [N] (the angle, in targetUnit), angle float32 [N] radians, person int32 [N]. */
  train: RotatedSplit & { person: NDArray };
  test: RotatedSplit & { person: NDArray };
  meta: { dataset: "olivetti"; files: string[]; seed: number; repeats: number; crop: number; targetUnit: "radians" | "degrees"; trainPeople: number[]; testPeople: number[] };
}

/**
 * Builds the rotated-faces regression set. Copy r of face f is item r * 400 + f before the
 * split; each split lists its people in order, and each person's items in that order. The
 * warping runs on the CPU backend; the results land on the default one.
 * @example const { train, test } = await olivetti({ seed: 0 }); // train.x [300, 1, 45, 45]
 */
export async function olivetti(opts: OlivettiOpts = {}): Promise<Olivetti> {
  const seed = opts.seed ?? 0;
  const repeats = opts.repeats ?? 1;
  const unit = opts.targetUnit ?? "radians";
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`olivetti: repeats must be a positive integer, got ${repeats}`);
  const crop = 45;
  const { faces, person, files } = readFaces();
  const n = 400 * repeats;
  const angles = uniformAngles(seed, 0, 0, n, -Math.PI / 2, Math.PI / 2);
  const trainPeople = Array.from({ length: 30 }, (_, i) => i);
  const testPeople = Array.from({ length: 10 }, (_, i) => i + 30);
  const split = async (people: number[]) => {
    const items: number[] = [];
    for (const p of people) for (let i = 0; i < n; i++) if (person[i % 400] === p) items.push(i);
    const a = Float32Array.from(items, (i) => angles[i]);
    const pixels = (j: number, out: Float32Array, at: number) => {
      const f = items[j] % 400;
      out.set(faces.subarray(f * 4096, (f + 1) * 4096), at);
    };
    const x = await rotateImages(pixels, [items.length, 1, 64, 64], a, { crop });
    const y = unit === "degrees" ? a.map((v) => (v * 180) / Math.PI) : a;
    return {
      x: fromTyped(x, [items.length, 1, crop, crop], "float32"),
      y: fromTyped(y, [items.length], "float32"),
      angle: fromTyped(a, [items.length], "float32"),
      person: fromTyped(
        Int32Array.from(items, (i) => person[i % 400]),
        [items.length],
        "int32",
      ),
    };
  };
  const train = await split(trainPeople);
  const test = await split(testPeople);
  return { train, test, meta: { dataset: "olivetti", files, seed, repeats, crop, targetUnit: unit, trainPeople, testPeople } };
}

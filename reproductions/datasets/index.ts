/**
 * Datasets for the reproductions: locating and verifying files (`DataError` when one is
 * missing or corrupt), readers (.npy/.npz, .mat, idx), and the builders of the paper's
 * rotated sets. Point AUGERINO_DATA_DIR at a folder with one subfolder per dataset.
 */
import type { DatasetSpec } from "./files.ts";
import { MNIST, validateMnistPart } from "./mnist.ts";
import { MARIO_IGGY } from "./marioiggy.ts";
import { OLIVETTI, facesFromMat } from "./olivetti.ts";
import { parseNpy, parseNpz } from "./npy.ts";
import { DataError } from "./files.ts";
import { CIFAR10, CIFAR10_SUBSET, readCifarArchive, readCifarSubsetNpz } from "./cifar10.ts";
import { STL10, checkStl10Part } from "./stl10.ts";

export { DataError, FIX, locate, searchDirs, cacheRoot, checkDataset, readPart, requirePresent, type DatasetSpec, type FilePart, type FileVariant, type PartStatus } from "./files.ts";
export { parseNpy, parseNpz, type NpyArray, type NpyData } from "./npy.ts";
export { parseMat, type MatVariable } from "./matv5.ts";
export { MNIST, parseIdx, loadMnist, readMnistRaw, type MnistRaw } from "./mnist.ts";
export { rotMnist, type RotMnist, type RotMnistOpts, type RotatedSplit } from "./rotmnist.ts";
export { MARIO_IGGY, MARIO_IGGY_CLASSES, marioIggy, readSprites, type MarioIggy, type MarioIggyOpts } from "./marioiggy.ts";
export { OLIVETTI, olivetti, readFaces, type Olivetti, type OlivettiOpts } from "./olivetti.ts";
export { QM9, QM9_ELEMENTS, QM9_CHANNELS, QM9_TARGETS, MEV_PER_HARTREE, qm9, type Qm9, type Qm9Opts, type Qm9Target, type MoleculeSplit } from "./qm9.ts";
export { downloadDataset, ensureDataset, type DownloadOpts, type Fetch } from "./download.ts";
export { CIFAR10, CIFAR10_SUBSET, CIFAR10_CLASSES, loadCifar10, readCifarArchive, readCifarSubsetNpz, decodeCifarRecords, type Cifar10, type Cifar10Opts, type ImageSplit } from "./cifar10.ts";
export { STL10, STL10_CLASSES, loadStl10, decodeStl10, checkStl10Part } from "./stl10.ts";
export { readTar, writeTar } from "./tar.ts";
export { decodePng, type Png } from "./png.ts";
export { CAMVID_CLASSES, camvidDir, loadCamVid, type CamVidOpts } from "./camvid.ts";
export { digitScenes, type DigitScenes, type DigitScenesOpts, type SegmentationSplit } from "./digit-scenes.ts";
export { hueShapes, type HueTask, type HueShapesOpts } from "./hue-shapes.ts";
export { onCpu, yieldToEventLoop, uniformAngles, permutation, streamKey, rotationMatrices, rotateImages } from "./rotate.ts";

/** A dataset and the structural check `augerino data --check` runs on each of its files. */
export interface RegisteredDataset {
  spec: DatasetSpec;
  validate(role: string, bytes: Uint8Array, path: string): void;
  /** Checked and downloaded only when named (large, or for users who have it): `augerino data cifar10`. */
  onRequest?: boolean;
}

/** The datasets `augerino data` knows, in the order it reports them. */
export const DATASETS: RegisteredDataset[] = [
  { spec: MNIST, validate: validateMnistPart },
  {
    spec: MARIO_IGGY,
    validate: (_role, bytes, path) => {
      const a = parseNpz(bytes, path);
      for (const k of ["mario", "iggy"]) if (!a[k]) throw new DataError(`${path}: no array "${k}"`);
    },
  },
  {
    spec: OLIVETTI,
    validate: (role, bytes, path) => {
      if (path.endsWith(".mat")) facesFromMat(bytes, path);
      else {
        const a = parseNpy(bytes, path);
        const want = role === "faces" ? "400,64,64" : "400";
        if (a.shape.join(",") !== want) throw new DataError(`${path}: shape [${a.shape}], expected [${want}]`);
      }
    },
  },
  { spec: CIFAR10, validate: (_role, bytes, path) => void readCifarArchive(bytes, path), onRequest: true },
  { spec: CIFAR10_SUBSET, validate: (_role, bytes, path) => void readCifarSubsetNpz(bytes, path), onRequest: true },
  { spec: STL10, validate: checkStl10Part, onRequest: true },
];

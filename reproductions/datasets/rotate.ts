/**
 * Rotating image sets for the builders: angles drawn per block of indices (so an image's
 * angle depends only on the seed, the split and its index, not on how many are built), and
 * rotation by `warp` (affine_grid + bilinear grid_sample, zero padding, align_corners=true)
 * in chunks, which bounds memory on the plain-JS CPU backend.
 *
 * The sampling runs on the CPU backend (see `onCpu`), so a build gives the same bits whatever
 * the default backend; the builders put their results on the default backend. Builders are
 * async: buffers of dropped arrays return to the backend only when the event loop turns
 * (FinalizationRegistry), so a synchronous loop over chunks would hold every chunk's
 * intermediates at once; `rotateImages` yields after each chunk.
 */
import { jit, random } from "../../index.ts";
import { fromTyped, type NDArray } from "../../core/array.ts";
import { withDefaultBackend } from "../../core/backend.ts";
import type { Tracer } from "../../core/tracer.ts";
import { affineGrid, gridSample, warp } from "../../augerino/warp.ts";

const ANGLE_BLOCK = 1000;

/** Runs `fn` with the CPU as the default backend (see withDefaultBackend). */
export const onCpu = <T>(fn: () => T): T => withDefaultBackend("cpu", fn);

/** Lets pending finalizers run, so the buffers of dropped arrays go back to the pool. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Angles for indices [start, start + count), uniform in [lo, hi), float32. Index i's angle is
 * drawn from `foldIn(key(seed), stream)` folded with floor(i / 1000), so any prefix of a
 * split is reproducible alone. Runs on the CPU backend.
 * @example uniformAngles(0, 0, 0, 12000, 0, 2 * Math.PI) // seed 0, stream 0
 */
export function uniformAngles(seed: number, stream: number | number[], start: number, count: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(count);
  if (count === 0) return out;
  return onCpu(() => {
    const key = streamKey(seed, stream);
    const first = Math.floor(start / ANGLE_BLOCK);
    const last = Math.floor((start + count - 1) / ANGLE_BLOCK);
    for (let b = first; b <= last; b++) {
      const block = random.uniform(random.foldIn(key, b), [ANGLE_BLOCK], { minval: lo, maxval: hi }).dataSync() as Float32Array;
      const from = Math.max(start, b * ANGLE_BLOCK);
      const to = Math.min(start + count, (b + 1) * ANGLE_BLOCK);
      out.set(block.subarray(from - b * ANGLE_BLOCK, to - b * ANGLE_BLOCK), from - start);
    }
    return out;
  });
}

/** random.foldIn(random.key(seed), s) for each s of `stream`: one key per use of a data seed. */
export function streamKey(seed: number, stream: number | number[]): Tracer {
  let k = random.key(seed);
  for (const s of [stream].flat()) k = random.foldIn(k, s);
  return k;
}

/** A random permutation of 0..n-1 for (seed, stream), on the CPU backend. */
export function permutation(seed: number, stream: number | number[], n: number): Int32Array {
  if (n === 0) return new Int32Array(0);
  return onCpu(() => Int32Array.from(random.permutation(streamKey(seed, stream), n).dataSync()));
}

/**
 * Homogeneous rotation matrices [[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], computed in
 * float64 from the (float32) angles and stored as float32 [n, 3, 3].
 */
export function rotationMatrices(angles: Float32Array): Float32Array {
  const m = new Float32Array(angles.length * 9);
  for (let i = 0; i < angles.length; i++) {
    const c = Math.cos(angles[i]);
    const s = Math.sin(angles[i]);
    m.set([c, -s, 0, s, c, 0, 0, 0, 1], i * 9);
  }
  return m;
}

export interface RotateOpts {
  /**
   * Keep only the central crop x crop pixels of each rotated image, rows and columns
   * floor((h - crop) / 2) onwards (the reference's crop_around_center). Computed by sampling
   * just those pixels, which gives the same values as warping the whole image and slicing.
   */
  crop?: number;
  /** Images per warp call; default keeps about 400k output pixels per chunk. */
  chunk?: number;
}

/**
 * Rotates n images of [c, h, w] by `angles` with `warp`; `images(i, out, at)` writes image i
 * (row-major) into `out` at `at`. Returns the rotated images, [n, c, h, w] or [n, c, crop,
 * crop], row-major. Runs on the CPU backend and yields to the event loop between chunks.
 */
export async function rotateImages(
  images: (i: number, out: Float32Array, at: number) => void,
  dims: [number, number, number, number],
  angles: Float32Array,
  opts: RotateOpts = {},
): Promise<Float32Array> {
  const [n, c, h, w] = dims;
  if (angles.length !== n) throw new Error(`rotateImages: ${angles.length} angles for ${n} images`);
  const crop = opts.crop;
  if (crop !== undefined && (h !== w || crop > h || crop < 2)) throw new Error(`rotateImages: crop ${crop} needs square images at least that large, got ${h}x${w}`);
  const oh = crop ?? h;
  const ow = crop ?? w;
  // Every call has the full chunk shape (the last chunk is padded), so each jitted warp
  // compiles once; jit runs the ~40 elementwise ops of bilinear sampling faster than eager.
  const chunk = Math.min(n, Math.max(1, opts.chunk ?? Math.floor(400_000 / (c * oh * ow))));
  const out = new Float32Array(n * c * oh * ow);
  const mats = rotationMatrices(angles);
  const rotate = crop === undefined ? warpFn() : cropFn(chunk, c, h, crop);
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const src = new Float32Array(chunk * c * h * w);
    for (let i = 0; i < m; i++) images(s + i, src, i * c * h * w);
    const mat = new Float32Array(chunk * 9);
    mat.set(mats.subarray(s * 9, (s + m) * 9));
    const y = onCpu(() => {
      const x = fromTyped(src, [chunk, c, h, w], "float32");
      const r = rotate(x, mat);
      const data = r.dataSync() as Float32Array;
      x.dispose();
      (r as NDArray).dispose();
      return data;
    });
    out.set(y.subarray(0, m * c * oh * ow), s * c * oh * ow);
    await yieldToEventLoop();
  }
  return out;
}

/** Rotates a chunk x [n, c, h, w] by homogeneous matrices (row-major [n, 3, 3]). */
type Rotate = (x: Tracer, mats: Float32Array) => Tracer;
const jitted = new Map<string, Rotate>();

function warpFn(): Rotate {
  let f = jitted.get("warp");
  if (!f) {
    const j = jit((x: Tracer, mats: Tracer) => warp(x, mats));
    f = (x, mats) => j(x, fromTyped(mats, [mats.length / 9, 3, 3], "float32")) as Tracer;
    jitted.set("warp", f);
  }
  return f;
}

/** Rotation followed by the central crop, sampling only the crop's pixels. */
function cropFn(chunk: number, c: number, h: number, crop: number): Rotate {
  const id = `crop ${chunk} ${c} ${h} ${crop}`;
  let f = jitted.get(id);
  if (!f) {
    const j = jit((x: Tracer, theta: Tracer) => gridSample(x, affineGrid(theta, [chunk, c, crop, crop], { alignCorners: true }), { alignCorners: true, mode: "bilinear", padding: "zeros" }));
    f = (x, mats) => j(x, cropTheta(mats, h, crop)) as Tracer;
    jitted.set(id, f);
  }
  return f;
}

/**
 * Crop pixel k (in [0, crop)) is image pixel k + o, o = floor((h - crop) / 2). In normalised
 * coordinates (align_corners) that is u = scale * v + shift, v the crop's own coordinate, so
 * the sampling map is R @ [[scale, 0, shift], [0, scale, shift]].
 */
function cropTheta(mats: Float32Array, h: number, crop: number): Tracer {
  const n = mats.length / 9;
  const o = Math.floor((h - crop) / 2);
  const scale = (crop - 1) / (h - 1);
  const shift = (crop - 1 + 2 * o) / (h - 1) - 1;
  const theta = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) {
    const [a, b, , d, e] = mats.subarray(i * 9, i * 9 + 5);
    theta.set([a * scale, b * scale, (a + b) * shift, d * scale, e * scale, (d + e) * shift], i * 6);
  }
  return fromTyped(theta, [n, 2, 3], "float32");
}

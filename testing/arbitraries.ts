/**
 * fast-check arbitraries for what invariance tests range over: group elements, images,
 * point clouds and keys. Each shrinks toward the simplest case, so a failing property
 * reports a small counterexample: an angle near 0, the identity, a small image, few points.
 * Values print as one readable line (fast-check's toStringMethod), e.g.
 * `image [1, 1, 3, 3] (seed 0)` or `rotation by 0.0312 rad`.
 */
import fc from "fast-check";
import { np, random, linalg, type DType, type Tracer } from "../index.ts";
import { withDefaultBackend } from "../core/backend.ts";
import { checkOptions } from "../core/options.ts";
import { generators2d, generators3d, GENERATOR_NAMES_2D, GENERATOR_NAMES_3D } from "../augerino/index.ts";

/** A group element as the properties use it: a matrix (homogeneous) or a permutation's Lehmer code, with a readable label. */
export interface GroupElement {
  readonly label: string;
  /** 3x3 (2-D) or 4x4 (3-D) homogeneous matrix, 3x3 rotation (SO(3)), or Lehmer code (permutations). */
  readonly value: number[][] | number[];
}

/** `v` printed by fast-check as `text`. */
export function labelled<T extends object>(v: T, text: string): T {
  Object.defineProperty(v, fc.toStringMethod, { value: () => text, enumerable: false });
  return v;
}

export const element = (label: string, value: number[][] | number[]): GroupElement => labelled({ label, value }, label);

const fmt = (v: number) => (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : Number(v.toFixed(4)).toString());

/** A range given as one number (fixed) or [min, max]. */
type Range = number | [number, number];
function intRange(op: string, name: string, r: Range): fc.Arbitrary<number> {
  const [min, max] = typeof r === "number" ? [r, r] : r;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) throw new Error(`${op}: ${name} must be a non-negative integer or [min, max], got ${JSON.stringify(r)}`);
  return fc.integer({ min, max });
}
const seedArb = fc.nat({ max: 2 ** 31 - 1 });
/**
 * Reals in [min, max] on a grid of 2^24 steps of the larger bound, shrinking toward 0 (or the
 * bound nearest it). fc.double would draw uniformly over representable doubles, nearly all
 * of them tiny, so rotations would almost never be large.
 */
function real(min: number, max: number): fc.Arbitrary<number> {
  if (min === max) return fc.constant(min);
  const step = Math.max(Math.abs(min), Math.abs(max)) / 2 ** 24;
  return fc.integer({ min: Math.ceil(min / step), max: Math.floor(max / step) }).map((i) => i * step);
}

/** The homogeneous 3x3 rotation by `a` radians. */
export const rotation2dMatrix = (a: number) => [
  [Math.cos(a), -Math.sin(a), 0],
  [Math.sin(a), Math.cos(a), 0],
  [0, 0, 1],
];

/**
 * Rotations of the plane by angles in [-maxAngle, maxAngle] (default: every angle), shrinking toward 0.
 * @example fc.assert(fc.property(check.arb.rotation2d({ maxAngle: 0.5 }), (g) => ...))
 */
export function rotation2d(opts: { maxAngle?: number } = {}): fc.Arbitrary<GroupElement> {
  checkOptions("check.arb.rotation2d", opts, ["maxAngle"]);
  const max = opts.maxAngle ?? Math.PI;
  if (!(max >= 0)) throw new Error(`check.arb.rotation2d: maxAngle must be non-negative, got ${max}`);
  return real(-max, max).map((a) => element(`rotation by ${fmt(a)} rad`, rotation2dMatrix(a)));
}

/** expm(sum_i eps_i G_i) in float64 on the CPU, as nested arrays. */
function expmOf(eps: number[], gens: Tracer): number[][] {
  return withDefaultBackend("cpu", () => linalg.expm(np.einsum("k,kij->ij", np.array(eps, { dtype: "float64" }), gens.astype("float64"))).toArraySync() as number[][]);
}

function affine(op: string, names: readonly string[], gens: () => Tracer, widths: number | number[]): fc.Arbitrary<GroupElement> {
  const ws = typeof widths === "number" ? names.map(() => widths) : widths;
  if (ws.length !== names.length || ws.some((w) => !(w >= 0))) throw new Error(`${op}: widths must be ${names.length} non-negative numbers (${names.join(", ")}), got ${JSON.stringify(widths)}`);
  const g = withDefaultBackend("cpu", gens);
  return fc.tuple(...ws.map((w) => real(-w / 2, w / 2))).map((eps) => {
    const terms = eps.map((e, i) => (e === 0 ? "" : `${fmt(e)} ${names[i]}`)).filter(Boolean);
    return element(terms.length ? `affine exp(${terms.join(" + ")})` : "identity", expmOf(eps, g));
  });
}

/**
 * Affine maps of the plane exp(sum eps_i G_i) with each coefficient in [-width_i/2, width_i/2]
 * (the convention of `aug.uniformAffine`; order tx, ty, rotation, scale, stretch, shear),
 * shrinking toward the identity.
 */
export function affine2d(opts: { widths?: number | number[]; transScale?: number } = {}): fc.Arbitrary<GroupElement> {
  checkOptions("check.arb.affine2d", opts, ["widths", "transScale"]);
  return affine("check.arb.affine2d", GENERATOR_NAMES_2D, () => generators2d({ transScale: opts.transScale }), opts.widths ?? 0.5);
}

/** Affine maps of R^3 (4x4 homogeneous; the twelve `generators3d`), coefficients in [-width_i/2, width_i/2]. */
export function affine3d(opts: { widths?: number | number[]; transScale?: number } = {}): fc.Arbitrary<GroupElement> {
  checkOptions("check.arb.affine3d", opts, ["widths", "transScale"]);
  return affine("check.arb.affine3d", GENERATOR_NAMES_3D, () => generators3d({ transScale: opts.transScale }), opts.widths ?? 0.5);
}

function quaternionMatrix(w: number, x: number, y: number, z: number): number[][] {
  return [
    [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
    [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
    [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
  ];
}

function rotationElement(w: number, x: number, y: number, z: number): GroupElement {
  const s = Math.hypot(x, y, z);
  const angle = 2 * Math.atan2(s, Math.abs(w));
  const sign = w < 0 ? -1 : 1;
  const axis = s > 0 ? [x, y, z].map((v) => fmt((sign * v) / s)) : [1, 0, 0];
  return element(angle === 0 ? "identity rotation" : `rotation by ${fmt(angle)} rad about (${axis.join(", ")})`, quaternionMatrix(w, x, y, z));
}

/**
 * Rotations of R^3 (3x3 matrices): uniform on SO(3) (Haar measure, by Shoemake's method
 * arranged so that the all-zero draw, where shrinking ends, is the identity); with
 * `maxAngle`, rotations by at most that angle about a uniform axis.
 */
export function so3(opts: { maxAngle?: number } = {}): fc.Arbitrary<GroupElement> {
  checkOptions("check.arb.so3", opts, ["maxAngle"]);
  if (opts.maxAngle === undefined) {
    // Without fast-check's bias toward small integers, so that draws are uniform (Haar).
    const u = fc.noBias(real(0, 1));
    return fc.tuple(u, u, u).map(([u1, u2, u3]) => {
      const [a, b] = [Math.sqrt(1 - u1), Math.sqrt(u1)];
      return rotationElement(a * Math.cos(2 * Math.PI * u2), a * Math.sin(2 * Math.PI * u2), b * Math.sin(2 * Math.PI * u3), b * Math.cos(2 * Math.PI * u3));
    });
  }
  const max = opts.maxAngle;
  if (!(max >= 0)) throw new Error(`check.arb.so3: maxAngle must be non-negative, got ${max}`);
  return fc.tuple(real(0, max), real(-1, 1), real(0, 2 * Math.PI)).map(([angle, z, phi]) => {
    const r = Math.sqrt(1 - z * z);
    const [s, c] = [Math.sin(angle / 2), Math.cos(angle / 2)];
    return rotationElement(c, s * r * Math.cos(phi), s * r * Math.sin(phi), s * z);
  });
}

/**
 * Elements of any group from `check.groups` (C4, D4, a finite group, SO(3), ...): its own
 * arbitrary, shrinking toward the identity.
 * @example fc.assert(fc.property(check.arb.groupElement(check.groups.d4()), (g) => ...))
 */
export function groupElement(group: { name?: string; arb: fc.Arbitrary<GroupElement> }): fc.Arbitrary<GroupElement> {
  if (!group || !(group.arb instanceof fc.Arbitrary)) throw new Error(`check.arb.groupElement: give a group from check.groups (c4(), d4(), so3(), ...), got ${String(group)}`);
  return group.arb;
}

/**
 * The permutation of `n` items that a Lehmer code stands for (entries taken modulo the
 * choices left, so one code serves every n; the all-zero code is the identity).
 */
export function decodePermutation(code: number[], n: number): number[] {
  const left = [...Array(n).keys()];
  return Array.from({ length: n }, (_, i) => left.splice((code[i] ?? 0) % (n - i), 1)[0]);
}

/** Permutations of the points of a set (as Lehmer codes, shrinking toward the identity). */
export function permutation(opts: { maxLength?: number } = {}): fc.Arbitrary<GroupElement> {
  checkOptions("check.arb.permutation", opts, ["maxLength"]);
  return fc.array(fc.nat({ max: 1 << 20 }), { maxLength: opts.maxLength ?? 64 }).map((code) => {
    let last = code.length - 1;
    while (last >= 0 && code[last] === 0) last--;
    return element(last < 0 ? "identity permutation" : `permutation with Lehmer code [${code.slice(0, last + 1)}]`, code);
  });
}

export interface ImageOpts {
  batch?: Range;
  channels?: Range;
  /** Side of square images (default [2, 8]); `height`/`width` give other shapes. */
  size?: Range;
  height?: Range;
  width?: Range;
  dtype?: DType;
}

/**
 * Batches of images [N, C, H, W] with standard normal pixels, from a seed; shrinks toward
 * fewer, smaller images and seed 0. Square unless `height`/`width` are given.
 * @example check.arb.image({ channels: 1, size: [3, 9], dtype: "float64" })
 */
export function image(opts: ImageOpts = {}): fc.Arbitrary<Tracer> {
  const op = "check.arb.image";
  checkOptions(op, opts, ["batch", "channels", "size", "height", "width", "dtype"]);
  const square = opts.height === undefined && opts.width === undefined;
  const size = intRange(op, "size", opts.size ?? [2, 8]);
  return fc
    .record({
      seed: seedArb,
      n: intRange(op, "batch", opts.batch ?? [1, 3]),
      c: intRange(op, "channels", opts.channels ?? 1),
      h: square ? size : intRange(op, "height", opts.height ?? [2, 8]),
      w: square ? size : intRange(op, "width", opts.width ?? [2, 8]),
    })
    .map(({ seed, n, c, h, w }) => {
      const shape = [n, c, h, square ? h : w];
      return labelled(random.normal(random.key(seed), shape, { dtype: opts.dtype }), `image [${shape.join(", ")}] (seed ${seed})`);
    });
}

/** A batch of point clouds padded to one length: positions [N, P, 3], mask [N, P] (1 = a real point), optional features [N, P, F]. */
export interface PointCloud {
  positions: Tracer;
  mask: Tracer;
  features?: Tracer;
}

export interface PointCloudOpts {
  batch?: Range;
  /** Real points per cloud (default [1, 8]). */
  points?: Range;
  /** Padding slots after the longest cloud (default [0, 2]); padded positions and features are 0. */
  padding?: Range;
  /** Feature channels per point (default 0: none). */
  features?: number;
  dtype?: DType;
}

/**
 * Batches of point clouds of different sizes, zero-padded at the end with a mask, as QM9
 * molecules are; shrinks toward fewer clouds with fewer points.
 */
export function pointCloud(opts: PointCloudOpts = {}): fc.Arbitrary<PointCloud> {
  const op = "check.arb.pointCloud";
  checkOptions(op, opts, ["batch", "points", "padding", "features", "dtype"]);
  const [bMin, bMax] = typeof opts.batch === "number" ? [opts.batch, opts.batch] : (opts.batch ?? [1, 3]);
  intRange(op, "batch", [bMin, bMax]);
  const f = opts.features ?? 0;
  if (!Number.isInteger(f) || f < 0) throw new Error(`${op}: features must be a non-negative integer, got ${f}`);
  return fc
    .record({ seed: seedArb, counts: fc.array(intRange(op, "points", opts.points ?? [1, 8]), { minLength: bMin, maxLength: bMax }), pad: intRange(op, "padding", opts.padding ?? [0, 2]) })
    .map(({ seed, counts, pad }) => {
      const p = Math.max(0, ...counts) + pad;
      const mask = np
        .array(
          counts.map((c) => Array.from({ length: p }, (_, j) => (j < c ? 1 : 0))),
          { dtype: opts.dtype ?? "float32" },
        )
        .reshape([counts.length, p]);
      const [kp, kf] = random.split(random.key(seed)) as unknown as Tracer[];
      // Padding is exactly +0 (a product with the mask would leave -0 behind negative draws).
      const real3 = np.greater(mask, 0).reshape([counts.length, p, 1]);
      const padded = (v: Tracer) => np.where(real3, v, np.zerosLike(v));
      const positions = padded(random.normal(kp, [counts.length, p, 3], { dtype: opts.dtype }));
      const cloud: PointCloud = { positions, mask, ...(f > 0 ? { features: padded(random.normal(kf, [counts.length, p, f], { dtype: opts.dtype })) } : {}) };
      return labelled(cloud, `point clouds of [${counts.join(", ")}] points padded to ${p}${f ? `, ${f} features` : ""} (seed ${seed})`);
    });
}

/** PRNG keys random.key(seed), shrinking toward seed 0. */
export function key(): fc.Arbitrary<Tracer> {
  return seedArb.map((seed) => labelled(random.key(seed), `random.key(${seed})`));
}

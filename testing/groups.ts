/**
 * Groups to check invariance under: each has a fast-check arbitrary of its elements (for
 * properties and matchers), their action on a batch, and an Action that samples or lists
 * elements inside array programs (for the measures). Images are [N, C, H, W] and move by
 * `aug.warp`; point clouds are [N, P, 3] arrays or `{ positions, mask, features }`.
 */
import fc from "fast-check";
import { np, random, linalg, tree, type Tracer } from "../index.ts";
import * as aug from "../augerino/index.ts";
import type { SampleOpts } from "../augerino/index.ts";
import { checkOptions } from "../core/options.ts";
import { batchSize, distAction, floatDtypeOf, repeatElement, type Action } from "./actions.ts";
import * as arb from "./arbitraries.ts";
import { element, type GroupElement, type PointCloud } from "./arbitraries.ts";

export interface Group<X = Tracer> {
  readonly name: string;
  /** Elements, shrinking toward the identity. */
  readonly arb: fc.Arbitrary<GroupElement>;
  /** Every example of the batch `x` transformed by the one element `e`. */
  act(x: X, e: GroupElement): X;
  /** Sampling (or, for finite groups, listing) inside array programs, for the measures. */
  readonly action: Action<X>;
  /** All elements of a finite group. */
  readonly elements?: GroupElement[];
}

/** A group of matrices acting through `action`: one element acts on a batch as n copies of its matrix. */
function matrixGroup<X>(name: string, elementArb: fc.Arbitrary<GroupElement>, action: Action<X>, elements?: GroupElement[]): Group<X> {
  return {
    name,
    arb: elementArb,
    // Made in the input's precision: a float32 copy of a float64 rotation is orthogonal only to 1e-7.
    act: (x, e) => action.act(x, repeatElement(np.array(e.value as number[][], { dtype: floatDtypeOf(x) }), batchSize(name, x))),
    action: { ...action, name },
    ...(elements ? { elements } : {}),
  };
}

/**
 * Rotations of images by angles in [-maxAngle, maxAngle] (default: all of SO(2)); bilinear
 * warps, so not exact on a pixel grid (the measures report that interpolation error).
 * @example await expect(f).toBeInvariantUnder(check.groups.rotations2d(), { inputs: check.arb.image() })
 */
export function rotations2d(opts: { maxAngle?: number; warp?: SampleOpts } = {}): Group {
  checkOptions("check.groups.rotations2d", opts, ["maxAngle", "warp"]);
  const max = opts.maxAngle ?? Math.PI;
  const dist = aug.uniformAffine({ initWidth: [0, 0, 2 * max, 0, 0, 0], warp: opts.warp });
  return matrixGroup(`rotations2d(|angle| <= ${Number(max.toFixed(4))})`, arb.rotation2d({ maxAngle: max }), distAction(dist, dist.init()));
}

/** Affine maps of images with coefficients in [-width_i/2, width_i/2] (aug.uniformAffine's convention and order). */
export function affine2d(opts: { widths?: number | number[]; transScale?: number; warp?: SampleOpts } = {}): Group {
  checkOptions("check.groups.affine2d", opts, ["widths", "transScale", "warp"]);
  const widths = opts.widths ?? 0.5;
  const dist = aug.uniformAffine({ initWidth: widths, transScale: opts.transScale, warp: opts.warp });
  return matrixGroup(`affine2d(widths ${JSON.stringify(widths)})`, arb.affine2d(opts), distAction(dist, dist.init()));
}

/** Nested arrays of a CPU array (the elements of a group are read once, when it is made). */
function matricesOf(op: string, t: Tracer): number[][][] {
  if ("backend" in t && (t as { backend: string }).backend !== "cpu")
    throw new Error(`${op}: give the elements as nested arrays or a CPU array (this one is on ${(t as { backend: string }).backend}); they are read synchronously`);
  return t.toArraySync() as number[][][];
}

/**
 * A finite group of image transforms given as 3x3 homogeneous matrices [G, 3, 3] (nested
 * arrays or a CPU array) or an `aug.finiteGroup` distribution made on the CPU; the
 * measures check every element exactly.
 * @example check.groups.finite([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[-1, 0, 0], [0, 1, 0], [0, 0, 1]]], { labels: ["identity", "flip"] })
 */
export function finite(elements: number[][][] | Tracer | aug.AugDist, opts: { labels?: string[]; name?: string; warp?: SampleOpts } = {}): Group {
  checkOptions("check.groups.finite", opts, ["labels", "name", "warp"]);
  const op = "check.groups.finite";
  const isDist = (e: unknown): e is aug.AugDist => typeof (e as aug.AugDist).enumerate === "function";
  const mats = Array.isArray(elements) ? elements : matricesOf(op, isDist(elements) ? elements.enumerate!(elements.init()) : (elements as Tracer));
  const dist = isDist(elements) ? elements : aug.finiteGroup(np.array(mats), { warp: opts.warp });
  const labels = opts.labels ?? mats.map((_, i) => `element ${i}`);
  if (labels.length !== mats.length) throw new Error(`${op}: ${mats.length} elements but ${labels.length} labels`);
  const list = mats.map((m, i) => element(labels[i], m));
  return matrixGroup(
    opts.name ?? dist.name,
    fc.integer({ min: 0, max: list.length - 1 }).map((i) => list[i]),
    distAction(dist, dist.init()),
    list,
  );
}

/** The rotations by k quarter turns, written out (cos and sin of multiples of pi/2 are not exact). */
const QUARTER_TURNS = [
  [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  [
    [0, -1, 0],
    [1, 0, 0],
    [0, 0, 1],
  ],
  [
    [-1, 0, 0],
    [0, -1, 0],
    [0, 0, 1],
  ],
  [
    [0, 1, 0],
    [-1, 0, 0],
    [0, 0, 1],
  ],
];
const QUARTER_LABELS = ["identity", "rotation by 90 degrees", "rotation by 180 degrees", "rotation by 270 degrees"];

/** The four rotations by multiples of 90 degrees: exact permutations of the pixels of square images. */
export function c4(opts: { warp?: SampleOpts } = {}): Group {
  checkOptions("check.groups.c4", opts, ["warp"]);
  return finite(QUARTER_TURNS, { labels: QUARTER_LABELS, name: "C4", warp: opts.warp });
}

/** C4 and the four reflections (the symmetries of the square). */
export function d4(opts: { warp?: SampleOpts } = {}): Group {
  checkOptions("check.groups.d4", opts, ["warp"]);
  // Each rotation after a left-right flip (x -> -x): its first column changes sign.
  const flipped = QUARTER_TURNS.map((m) => m.map((row) => [0 - row[0], row[1], row[2]]));
  const labels = [...QUARTER_LABELS, "left-right flip", ...[90, 180, 270].map((d) => `left-right flip, then rotation by ${d} degrees`)];
  return finite([...QUARTER_TURNS, ...flipped], { labels, name: "D4", warp: opts.warp });
}

/** `fn` applied to a point-cloud batch's positions ([N, P, 3] itself, or the `positions` of a PointCloud). */
function onPositions<X>(op: string, x: X, fn: (p: Tracer) => Tracer): X {
  if (x !== null && typeof x === "object" && "positions" in x) return { ...x, positions: fn((x as unknown as PointCloud).positions) };
  const p = x as unknown as Tracer;
  if (!p || p.ndim !== 3 || p.shape[2] !== 3) throw new Error(`${op}: point clouds must be [N, P, 3] positions or { positions, mask, features }, got ${p?.shape ? `[${p.shape}]` : typeof x}`);
  return fn(p) as unknown as X;
}

const rotatePoints =
  (op: string) =>
  <X>(x: X, r: Tracer) =>
    onPositions(op, x, (p) => np.einsum("nij,npj->npi", r.astype(p.dtype), p));

/**
 * Rotations of point clouds: uniform on SO(3), or by at most `maxAngle` about a uniform
 * axis. Acts on positions only (masks and features are unchanged); exact up to rounding.
 */
export function so3<X extends Tracer | PointCloud = Tracer>(opts: { maxAngle?: number } = {}): Group<X> {
  checkOptions("check.groups.so3", opts, ["maxAngle"]);
  const name = opts.maxAngle === undefined ? "SO(3)" : `SO(3)(angle <= ${opts.maxAngle})`;
  const act = rotatePoints(name);
  const max = opts.maxAngle;
  const draw = (key: Tracer, x: Tracer | PointCloud) => {
    const n = batchSize(name, x);
    const dtype = floatDtypeOf(x);
    if (max === undefined) return aug.rotationsFromQuaternions(random.normal(key, [n, 4], { dtype }));
    const [ka, kb] = random.split(key) as unknown as Tracer[];
    const axis = random.normal(ka, [n, 3], { dtype });
    const half = random.uniform(kb, [n, 1], { minval: -max / 2, maxval: max / 2, dtype });
    const v = axis.div(np.sqrt(np.sum(np.square(axis), { axis: -1, keepdims: true }))).mul(np.sin(half));
    return aug.rotationsFromQuaternions(np.concatenate([np.cos(half), v], { axis: -1 }));
  };
  return matrixGroup<X>(name, arb.so3(opts), { name, draw, act, inverse: (r) => np.transpose(r, [0, 2, 1]) });
}

/** Affine maps of point clouds (4x4 homogeneous, the twelve `generators3d`), as `aug.uniformAffine3d` samples them. */
export function affine3d<X extends Tracer | PointCloud = Tracer>(opts: { widths?: number | number[]; transScale?: number } = {}): Group<X> {
  checkOptions("check.groups.affine3d", opts, ["widths", "transScale"]);
  const widths = opts.widths ?? 0.5;
  const dist = aug.uniformAffine3d({ initWidth: widths, transScale: opts.transScale });
  const theta = dist.init();
  const name = `affine3d(widths ${JSON.stringify(widths)})`;
  const action: Action<X> = {
    name,
    draw: (key, x) => dist.sample(key, theta.astype(floatDtypeOf(x) ?? theta.dtype), batchSize(name, x)),
    act: (x, m) => onPositions(name, x, (p) => aug.transformPoints(m.astype(p.dtype), p)),
    inverse: (m) => linalg.inv(m),
  };
  return matrixGroup(name, arb.affine3d(opts), action);
}

/** Every array of `x` with a point axis (axis 1) reordered by `perms` [N, P]. */
function permutePoints<X>(x: X, perms: Tracer): X {
  return tree.map((leaf: Tracer) => {
    if (leaf.ndim < 2) return leaf;
    const idx = perms.reshape([...perms.shape, ...leaf.shape.slice(2).map(() => 1)]);
    return np.takeAlongAxis(leaf, np.broadcastTo(idx, leaf.shape), { axis: 1 });
  }, x as never) as X;
}

const pointCount = (op: string, x: unknown) => {
  const first = (tree.leaves(x as never) as Tracer[])[0];
  if (!first || first.ndim < 2) throw new Error(`${op}: point sets need a point axis (axis 1)`);
  return first.shape[1];
};

/**
 * Permutations of the points of each set: every array of the input with a point axis
 * (axis 1: positions, mask, features, per-point outputs) is reordered together.
 */
export function permutations<X extends Tracer | PointCloud = Tracer>(): Group<X> {
  if (arguments.length > 0) throw new Error("check.groups.permutations: takes no arguments (the point count comes from the input)");
  const name = "permutations";
  return {
    name,
    arb: arb.permutation(),
    act: (x, e) => {
      const perm = arb.decodePermutation(e.value as number[], pointCount(name, x));
      return permutePoints(x, repeatElement(np.array(perm, { dtype: "int32" }), batchSize(name, x)));
    },
    action: {
      name,
      draw: (key, x) => np.argsort(random.uniform(key, [batchSize(name, x), pointCount(name, x)]), { axis: 1 }),
      act: permutePoints,
      inverse: (p) => np.argsort(p, { axis: 1 }),
    },
  };
}

/**
 * Lie-algebra generators of affine maps, as 3x3 (2-D) or 4x4 (3-D) homogeneous matrices.
 * A transformation is g = expm(sum_i eps_i * G_i).
 */
import { np, type Tracer } from "../index.ts";
import { checkOptions } from "../core/options.ts";

/** Order of the 2-D generators (and of every `widths` vector in this package). */
export const GENERATOR_NAMES_2D = ["tx", "ty", "rotation", "scale", "stretch", "shear"] as const;

/**
 * The six generators of 2-D affine maps in the reference order: translate x, translate y
 * (both scaled by `transScale`, 0.1 in the reference code), rotate, scale, stretch, shear.
 * @example aug.generators2d().shape // [6, 3, 3]
 */
export function generators2d(opts: { transScale?: number } = {}): Tracer {
  checkOptions("aug.generators2d", opts, ["transScale"]);
  const t = opts.transScale ?? 0.1;
  const g: number[][][] = [
    [
      [0, 0, t],
      [0, 0, 0],
      [0, 0, 0],
    ],
    [
      [0, 0, 0],
      [0, 0, t],
      [0, 0, 0],
    ],
    [
      [0, -1, 0],
      [1, 0, 0],
      [0, 0, 0],
    ],
    [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 0],
    ],
    [
      [1, 0, 0],
      [0, -1, 0],
      [0, 0, 0],
    ],
    [
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, 0],
    ],
  ];
  return np.array(g);
}

export const GENERATOR_NAMES_3D = ["tx", "ty", "tz", "rxy", "rxz", "ryz", "sx", "sy", "sz", "shxy", "shxz", "shyz"] as const;

/**
 * The twelve generators of 3-D affine maps (4x4 homogeneous): translations x, y, z
 * (scaled by `transScale`), rotations in the xy, xz, yz planes, axis scalings x, y, z,
 * and symmetric shears xy, xz, yz. Together they span the whole affine algebra of R^3.
 */
export function generators3d(opts: { transScale?: number } = {}): Tracer {
  checkOptions("aug.generators3d", opts, ["transScale"]);
  const t = opts.transScale ?? 0.1;
  const gens: number[][][] = [];
  const unit = (entries: [number, number, number][]) => {
    const m = Array.from({ length: 4 }, () => new Array<number>(4).fill(0));
    for (const [i, j, v] of entries) m[i][j] = v;
    gens.push(m);
  };
  for (let i = 0; i < 3; i++) unit([[i, 3, t]]);
  for (const [i, j] of [
    [0, 1],
    [0, 2],
    [1, 2],
  ])
    unit([
      [i, j, -1],
      [j, i, 1],
    ]);
  for (let i = 0; i < 3; i++) unit([[i, i, 1]]);
  for (const [i, j] of [
    [0, 1],
    [0, 2],
    [1, 2],
  ])
    unit([
      [i, j, 1],
      [j, i, 1],
    ]);
  return np.array(gens);
}

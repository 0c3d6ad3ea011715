/** The functions of `augerino/index.ts` as written; index.ts exports them wrapped by namedApi. */
export { generators2d, generators3d, GENERATOR_NAMES_2D, GENERATOR_NAMES_3D } from "./generators.ts";
export { affineGrid, gridSample, warp, transformPoints, type GridOpts, type SampleOpts } from "./warp.ts";
export { uniformAffine, uniformAffine3d, uniformSO3, rotationsFromQuaternions, gaussianAffine, finiteGroup, rotations90, inverseSoftplus, type AugDist, type AffineOpts } from "./distributions.ts";
export { colorJitter, colorMatrices, compose, COLOR_GENERATORS, type ColorGenerator, type ColorOpts } from "./color.ts";
export { augment, loss, regularizer, predict, predictEquivariant, type ApplyFn, type LossOpts, type PredictOpts } from "./averaging.ts";

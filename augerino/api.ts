/**
 * Augerino (Benton, Finzi, Izmailov, Wilson, NeurIPS 2020): learn a distribution over
 * augmentations jointly with the network, as pure functions over `{ w, theta }`.
 *
 * Widths follow the reference code: theta are raw parameters, width = softplus(theta),
 * and a uniform distribution draws coefficients in [-width/2, width/2] — "width" is the
 * full range (a rotation width of 2 pi covers every angle).
 *
 * @example
 * import * as aug from "augerino/augerino";
 * const dist = aug.uniformAffine({ initRaw: [-5, -5, 1, -5, -5, -5] });
 * const params = { w, theta: dist.init() };
 * const g = grad((p) => aug.loss(apply, p, key, x, y, { dist, lambda: 0.01 }))(params);
 */
export { generators2d, generators3d, GENERATOR_NAMES_2D, GENERATOR_NAMES_3D } from "./generators.ts";
export { affineGrid, gridSample, warp, transformPoints, type GridOpts, type SampleOpts } from "./warp.ts";
export { uniformAffine, uniformAffine3d, uniformSO3, rotationsFromQuaternions, gaussianAffine, colorJitter, finiteGroup, rotations90, inverseSoftplus, type AugDist, type AffineOpts } from "./distributions.ts";
export { augment, loss, regularizer, predict, predictEquivariant, type ApplyFn, type LossOpts, type PredictOpts } from "./averaging.ts";

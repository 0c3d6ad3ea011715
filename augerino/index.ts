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
import * as api from "./api.ts";
import { namedApi } from "../core/options.ts";

export type * from "./api.ts";
// Every error from these names the function the caller called (core/options.ts, namedApi).
export const {
  generators2d,
  generators3d,
  affineGrid,
  gridSample,
  warp,
  transformPoints,
  uniformAffine,
  uniformAffine3d,
  uniformSO3,
  rotationsFromQuaternions,
  gaussianAffine,
  colorJitter,
  colorMatrices,
  compose,
  finiteGroup,
  rotations90,
  inverseSoftplus,
  augment,
  loss,
  regularizer,
  predict,
  predictEquivariant,
} = namedApi("aug", api);
export { GENERATOR_NAMES_2D, GENERATOR_NAMES_3D, COLOR_GENERATORS } from "./api.ts";

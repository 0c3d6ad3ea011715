/**
 * Property-testing invariance and equivariance of your own models.
 *
 * - Measures: `invarianceError` / `equivarianceError` (array code, vmapped over samples,
 *   jittable) and `summarize` (the numbers); `invarianceProfile` (soft invariance along one
 *   generator).
 * - Groups (`check.groups`): rotations2d, affine2d, c4, d4, finite, so3, affine3d, permutations.
 * - fast-check arbitraries (`check.arb`): group elements, images, point clouds, keys, all
 *   shrinking toward small counterexamples.
 * - Properties `invariant` / `equivariant` and vitest matchers (`expect.extend(check.matchers)`).
 *
 * @example
 * import * as check from "augerino/testing";
 * expect.extend(check.matchers);
 * await expect(model).toBeInvariantUnder(check.groups.c4(), { inputs: check.arb.image({ size: [2, 8] }) });
 */
export * as arb from "./arbitraries.ts";
export * as groups from "./groups.ts";
export type { GroupElement, PointCloud, ImageOpts, PointCloudOpts } from "./arbitraries.ts";
export type { Group } from "./groups.ts";
export { actionOf, type Action, type Transform, type KeyTransform } from "./actions.ts";
export { invarianceError, equivarianceError, summarize, type ErrorReport, type MeasureOpts, type Summary, type Reduce } from "./measures.ts";
export { invarianceProfile, type Profile, type ProfileOpts } from "./profile.ts";
export { invariant, equivariant, InvarianceViolation, type PropertyOpts } from "./properties.ts";
export { matchers, type MatcherOpts } from "./matchers.ts";
export { defaultTolerance } from "./tolerance.ts";

/**
 * The NumPy-style API. Functions broadcast and promote like NumPy (JS numbers are
 * weakly typed, as Python scalars are in JAX) and accept nested JS arrays.
 */
export * from "./np/creation.ts";
export * from "./np/math.ts";
export * from "./np/reductions.ts";
export * from "./np/manipulation.ts";
export * from "./np/products.ts";
export * from "./np/indexing.ts";
export * from "./np/sorting.ts";
export { allclose } from "./np/compare.ts";
export * from "./np/special.ts";
export * from "./np/ufuncs.ts";
export * from "./np/cumulative.ts";
export * from "./np/statistics.ts";
export * from "./np/matrix.ts";

/**
 * The primitive-level API (JAX's lax): strict shapes and dtypes, no broadcasting.
 */
export {
  neg,
  exp,
  log,
  log1p,
  expm1,
  sqrt,
  rsqrt,
  sin,
  cos,
  tan,
  tanh,
  logistic,
  erf,
  erfInv,
  abs,
  sign,
  floor,
  ceil,
  round,
  not,
  isFinite,
  add,
  sub,
  mul,
  div,
  rem,
  pow,
  max,
  min,
  atan2,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  and,
  or,
  xor,
  shiftLeft,
  shiftRightLogical,
  select,
  convertElementType,
  bitcastConvertType,
  stopGradient,
} from "./primitives/elementwise.ts";
export { reshape, transpose, broadcastInDim, slice, pad, concatenate, rev } from "./primitives/shape.ts";
export { reduceSum, reduceMax, reduceMin, reduceProd, argmax, argmin } from "./primitives/reduce.ts";
export { dotGeneral, type DotDims } from "./primitives/dot.ts";
export { gather, scatterAdd } from "./np/indexing.ts";
export { scan, forLoop, foriLoop } from "./control/scan.ts";
export { whileLoop } from "./control/while.ts";
export { cond, switchBranches as switch } from "./control/cond.ts";
export { conv, convGeneralDilated, reduceWindow } from "./lax-conv.ts";

/**
 * The routines a backend runs besides kernels of the compiler's IR: products, convolution,
 * pooling, sort, gathers' scatter, small linalg and random bits, each with typed parameters.
 * Backends receive a `RoutineCall` and never see primitives or jaxprs.
 */
import type { DType } from "./dtype.ts";
import type { ShapedArray } from "./tracer.ts";

export interface DotDims {
  contracting: [number[], number[]];
  batch: [number[], number[]];
}

export interface ConvParams {
  strides: [number, number];
  /** [lo, hi] per spatial axis; negative values crop. */
  padding: [[number, number], [number, number]];
  lhsDilation: [number, number];
  rhsDilation: [number, number];
  /** Feature groups: input channels and output channels are split into `groups` blocks. */
  groups: number;
}

export interface WindowParams {
  window: number[];
  strides: number[];
  /** [lo, hi] per axis; negative values crop. */
  padding: [number, number][];
}

export type Select = "max" | "min";

type None = Record<string, never>;
export interface Axis {
  axis: number;
}

/** Each routine's parameters. */
export interface RoutineParams {
  dot_general: { dims: DotDims };
  conv_general_dilated: ConvParams;
  conv_swapped_operands: ConvParams;
  reduce_window_sum: WindowParams;
  reduce_window_max: WindowParams;
  reduce_window_min: WindowParams;
  select_and_gather_add: WindowParams & { select: Select };
  select_and_scatter_add: WindowParams & { select: Select };
  sort: Axis;
  argsort: Axis;
  argmax: Axis;
  argmin: Axis;
  scatter_add: Axis;
  bitcast_convert_type: { newDtype: DType };
  threefry2x32: None;
  expm: None;
  expm_frechet: None;
  solve: None;
  det: None;
  log_abs_det: None;
  det_sign: None;
}

export type RoutineName = keyof RoutineParams;

const NAMES: Record<RoutineName, true> = {
  dot_general: true,
  conv_general_dilated: true,
  conv_swapped_operands: true,
  reduce_window_sum: true,
  reduce_window_max: true,
  reduce_window_min: true,
  select_and_gather_add: true,
  select_and_scatter_add: true,
  sort: true,
  argsort: true,
  argmax: true,
  argmin: true,
  scatter_add: true,
  bitcast_convert_type: true,
  threefry2x32: true,
  expm: true,
  expm_frechet: true,
  solve: true,
  det: true,
  log_abs_det: true,
  det_sign: true,
};

/** Every routine's name. */
export const ROUTINE_NAMES = Object.keys(NAMES) as RoutineName[];

/**
 * Routines that only a backend's own plan emits, for itself (conv_swapped_operands: the CPU,
 * Backend.swapsConvOperands): no other backend is ever asked to run them.
 */
export const PLAN_ONLY_ROUTINES: readonly RoutineName[] = ["conv_swapped_operands"];

export function isRoutine(name: string): name is RoutineName {
  return Object.hasOwn(NAMES, name);
}

/** One call of a routine: what it computes, on what types. */
export type RoutineCall<N extends RoutineName = RoutineName> = {
  [R in N]: { readonly routine: R; readonly params: RoutineParams[R]; readonly inAvals: ShapedArray[]; readonly outAvals: ShapedArray[] };
}[N];

/** The call of routine `name` (a primitive's name), or an error naming what has neither a kernel nor a routine. */
export function routineCall(name: string, params: object, inAvals: ShapedArray[], outAvals: ShapedArray[]): RoutineCall {
  if (!isRoutine(name)) throw new Error(`${name}: not a kernel of the IR and not a backend routine (known routines: ${Object.keys(NAMES).join(", ")})`);
  return { routine: name, params, inAvals, outAvals } as RoutineCall;
}

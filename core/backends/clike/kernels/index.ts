/** The kernels written once for both C-like dialects, by primitive name. */
import { argmax, argmin } from "./argminmax.ts";
import { bitcastConvertType } from "./bitcast.ts";
import { scatterAdd } from "./gather.ts";
import type { ClikeRule } from "./rule.ts";
import { det, detSign, expm, expmFrechet, logAbsDet, solve } from "./linalg.ts";
import { argsort, sort } from "./sort.ts";
import { threefry2x32 } from "./threefry.ts";
import { reduceWindowMax, reduceWindowMin, reduceWindowSum, selectAndGatherAdd, selectAndScatterAdd } from "./window.ts";

export const CLIKE_RULES: Record<string, ClikeRule> = {
  argmax,
  argmin,
  bitcast_convert_type: bitcastConvertType,
  scatter_add: scatterAdd,
  threefry2x32,
  sort,
  argsort,
  expm,
  expm_frechet: expmFrechet,
  solve,
  det,
  log_abs_det: logAbsDet,
  det_sign: detSign,
  reduce_window_sum: reduceWindowSum,
  reduce_window_max: reduceWindowMax,
  reduce_window_min: reduceWindowMin,
  select_and_gather_add: selectAndGatherAdd,
  select_and_scatter_add: selectAndScatterAdd,
};

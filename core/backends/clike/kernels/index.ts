/** The kernels written once for both C-like dialects, by primitive name. */
import { argmax, argmin } from "./argminmax.ts";
import { bitcastConvertType } from "./bitcast.ts";
import { scatterAdd, take } from "./gather.ts";
import type { ClikeRule } from "./rule.ts";
import { threefry2x32 } from "./threefry.ts";

export const CLIKE_RULES: Record<string, ClikeRule> = {
  argmax,
  argmin,
  bitcast_convert_type: bitcastConvertType,
  take,
  scatter_add: scatterAdd,
  threefry2x32,
};

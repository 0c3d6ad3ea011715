/**
 * Property-suite cases for the convolution family (core/primitives/conv.ts).
 *
 * conv_general_dilated is bilinear: linear in the input with the kernel held fixed, and in
 * the kernel with the input held fixed (never in both at once). `linearArgs: [0, 1]` means
 * exactly that: the transpose identity <conv(t, w), c> = <t, T_lhs(c)> is checked for each
 * argument separately, with the other one a constant.
 */
import type { ConvParams } from "../../core/primitives/conv.ts";
import { dilateDim } from "../../core/primitives/conv.ts";
// Registers the primitives even before lax re-exports them.
import "../../core/lax-conv.ts";
import type { PrimCase, Rng } from "./types.ts";

/** Small random conv params and matching NCHW / OIHW shapes, always valid. */
export function randomConvConfig(rng: Rng): { lhsShape: number[]; rhsShape: number[]; params: ConvParams } {
  const groups = rng.pick([1, 1, 2, 3]);
  const cg = rng.int(1, 3);
  const og = rng.int(1, 3);
  const n = rng.int(1, 3);
  const k = [rng.int(1, 4), rng.int(1, 4)];
  const strides = [rng.int(1, 4), rng.int(1, 3)] as [number, number];
  const lhsDilation = [rng.pick([1, 1, 2]), rng.pick([1, 1, 2])] as [number, number];
  const rhsDilation = [rng.pick([1, 1, 2]), rng.pick([1, 2])] as [number, number];
  // Asymmetric and negative (cropping) padding included.
  const padding = [0, 1].map(() => [rng.int(-1, 3), rng.int(-1, 3)]) as ConvParams["padding"];
  const spatial = [0, 1].map((d) => {
    let h = rng.int(1, 6);
    while (dilateDim(h, lhsDilation[d]) + padding[d][0] + padding[d][1] < dilateDim(k[d], rhsDilation[d])) h++;
    return h;
  });
  return {
    lhsShape: [n, groups * cg, ...spatial],
    rhsShape: [groups * og, cg, ...k],
    params: { strides, padding, lhsDilation, rhsDilation, groups },
  };
}

export const cases: PrimCase[] = [
  {
    prim: "conv_general_dilated",
    make(rng) {
      const { lhsShape, rhsShape, params } = randomConvConfig(rng);
      return { args: [rng.array(lhsShape), rng.array(rhsShape)], params };
    },
    linearArgs: [0, 1],
  },
];

/** bitcast_convert_type between 32-bit dtypes (the primitive checks the widths). */
import { sizeOf } from "../../../shape.ts";
import { elementwise } from "../dialect.ts";
import type { ClikeRule } from "./rule.ts";
import type { RoutineParams } from "../../../routines.ts";

export const bitcastConvertType: ClikeRule<RoutineParams["bitcast_convert_type"]> = (d, [x], [out]) => {
  if (x.dtype === "bool" || out.dtype === "bool") throw new Error(`${d.name}: bitcast_convert_type of bool is not supported`);
  const n = sizeOf(out.shape);
  const bufs = [
    { name: "x", dtype: x.dtype },
    { name: "out", dtype: out.dtype, write: true },
  ];
  return { passes: [elementwise(d, bufs, [{ in: 0 }, { out: 0 }], n, `  ${d.st("out", "gi", d.bitcast(d.ld("x", "gi"), x.dtype, out.dtype))}`)] };
};

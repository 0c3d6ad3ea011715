/** The shape of a kernel rule written once for both C-like dialects. */
import type { Params } from "../../../primitive.ts";
import type { ShapedArray } from "../../../tracer.ts";
import type { Clike, ClikeProgram } from "../dialect.ts";

/** A primitive's kernel in dialect `d`; null for operand types it does not cover. */
export type ClikeRule = (d: Clike, inAvals: ShapedArray[], outAvals: ShapedArray[], params: Params) => ClikeProgram | null;

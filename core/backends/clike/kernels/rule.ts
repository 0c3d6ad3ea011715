/** The shape of a kernel rule written once for both C-like dialects. */
import type { Params } from "../../../primitive.ts";
import type { ShapedArray } from "../../../tracer.ts";
import type { Clike, ClikeProgram } from "../dialect.ts";

/**
 * A routine's kernel in dialect `d`, given its params `P`; null for operand types it does not
 * cover. A method type, so a rule of typed params sits in the table of all rules.
 */
export type ClikeRule<P = Params> = { rule(d: Clike, inAvals: ShapedArray[], outAvals: ShapedArray[], params: P): ClikeProgram | null }["rule"];

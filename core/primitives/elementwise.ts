/**
 * Elementwise primitives: unary math, binary arithmetic, comparisons, bitwise ops, select
 * and dtype conversion, each defined once with its ALU spellings in elementwise/.
 */
export * from "./elementwise/unary.ts";
export * from "./elementwise/binary.ts";
export * from "./elementwise/logic.ts";
export * from "./elementwise/convert.ts";
export { elementwiseBatch } from "./elementwise/define.ts";

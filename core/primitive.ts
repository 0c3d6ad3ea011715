/**
 * A primitive is a named operation with its rules declared beside it in its family file
 * under core/primitives/. `bind` hands it to the innermost active trace.
 */
import type { ShapedArray, Tracer } from "./tracer.ts";
import type { LowerContext, Pos } from "./compiler/lower.ts";
import type { Eqn } from "./jaxpr.ts";
import type { IRNode, ReduceOp } from "./compiler/ir.ts";

// Params are plain, immutable data (numbers, strings, arrays, jaxprs); rules read them by name.
// A primitive declares their type beside it (`definePrimitive<ScanParams>({...})`), so its
// rules get typed params; code handling any primitive (traces, jaxprs) sees this one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the params of any primitive, read by name where the primitive is not known statically
export type Params = Record<string, any>;

/**
 * `F` as a method type, whose parameters TypeScript checks bivariantly: a primitive whose
 * rules take its own params type is still a `Primitive` that generic code can hold.
 */
type Rule<F extends (...args: never[]) => unknown> = { rule(...args: Parameters<F>): ReturnType<F> }["rule"];

/** A linear input whose value is unknown during transposition. */
export class UndefinedPrimal {
  constructor(readonly aval: ShapedArray) {}
}

export type JvpRule<P = Params> = Rule<(primals: Tracer[], tangents: Tracer[], params: P) => [Tracer[], (Tracer | null)[]]>;
export type TransposeRule<P = Params> = Rule<(cts: (Tracer | null)[], args: (Tracer | UndefinedPrimal)[], params: P) => (Tracer | null)[]>;
/** A lowering rule that reads its equation's params as the primitive's params type. */
export type LowerRule<P = Params> = Rule<(ctx: Omit<LowerContext, "eqn"> & { eqn: Omit<Eqn, "params"> & { params: P } }, pos: Pos) => IRNode>;
export type BatchRule<P = Params> = Rule<(vals: Tracer[], dims: (number | null)[], params: P, axisSize: number) => [Tracer[], (number | null)[]]>;

/** A primitive whose params have type `P`. */
export interface Primitive<P = Params> {
  readonly name: string;
  /** Output shapes and dtypes; also where shape and dtype mistakes are reported. */
  abstractEval(avals: ShapedArray[], params: P): ShapedArray[];
  /** Forward-mode rule; "zero" when the outputs carry no derivative (integers, comparisons). */
  jvp?: JvpRule<P> | "zero";
  /** For primitives linear in some inputs: cotangents of the inputs from cotangents of the outputs. */
  transpose?: TransposeRule<P>;
  batch?: BatchRule<P>;
  /**
   * The kernel IR of the output at a point, from the inputs at computed points: elementwise
   * ops become ALU nodes, movement ops index remapping. Primitives with a rule fuse with
   * their neighbours under jit and run eagerly as one-equation kernels on every backend.
   */
  lower?: LowerRule<P>;
  /** Each output element depends only on the same element of every input (what a product's epilogue may run). */
  pointwise?: boolean;
  /**
   * Runs a call whose kernel would read more buffers than a backend binds at once
   * (`Backend.maxKernelInputs`) as several calls of at most `maxInputs` inputs each.
   */
  chunked?: Rule<(args: Tracer[], params: P, maxInputs: number) => Tracer[]>;
  /** A reduction that a kernel's trailing fold computes: its operation and the axes it folds. */
  reduction?: { readonly op: ReduceOp; axes: Rule<(params: P) => readonly number[]> };
  /** The output has the same elements in the same order as this input (reshape), so a backend may share its buffer. */
  viewOf?: number;
  /**
   * Higher-order primitives run by the eval trace on the host around their bodies' compiled
   * programs (loops, branches), instead of a kernel.
   */
  evaluate?: Rule<(args: Tracer[], params: P) => Tracer[]>;
  /** Higher-order primitives (jit calls) that transforms may run inline. */
  inline?: Rule<(args: Tracer[], params: P) => Tracer[]>;
  /** Shown by the jaxpr printer instead of raw params. */
  printParams?(params: P): string;
}

/**
 * Zeros that the JVP trace made for inputs with no tangent. Bilinear rules skip the
 * terms they multiply instead of computing a product with zeros.
 */
const zeroTangents = new WeakSet<object>();
export function markZeroTangent<T extends object>(t: T): T {
  zeroTangents.add(t);
  return t;
}
export function isZeroTangent(t: object): boolean {
  return zeroTangents.has(t);
}

const registry = new Map<string, Primitive>();

export function definePrimitive<P = Params>(p: Primitive<NoInfer<P>>): Primitive<P> {
  if (registry.has(p.name)) throw new Error(`primitive ${p.name} is defined twice`);
  // The registry serves code that looks primitives up by name and passes params through untyped.
  registry.set(p.name, p as Primitive<unknown> as Primitive);
  return p;
}

export function allPrimitives(): Primitive[] {
  return [...registry.values()];
}

export function getPrimitive(name: string): Primitive {
  const p = registry.get(name);
  if (!p) throw new Error(`unknown primitive ${name}`);
  return p;
}

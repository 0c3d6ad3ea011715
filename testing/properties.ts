/**
 * Invariance and equivariance as fast-check properties over inputs and group elements.
 * A failure throws an error that says how far f moved, against which tolerance, for which
 * element and input; fast-check then shrinks both toward the smallest case that still fails.
 */
import fc from "fast-check";
import { tree, type Tracer } from "../index.ts";
import { checkOptions } from "../core/options.ts";
import { batchSize } from "./actions.ts";
import { labelled, type GroupElement } from "./arbitraries.ts";
import type { Group } from "./groups.ts";
import { outputGap, REDUCES, type Reduce } from "./measures.ts";
import { defaultTolerance } from "./tolerance.ts";

export interface PropertyOpts {
  /** Largest allowed change (absolute). Default: `defaultTolerance` of f's output dtype. */
  tol?: number;
  /** How one example's output change is summed up (default "max", the largest absolute change). */
  reduce?: Reduce;
}
const PROPERTY_KEYS = ["tol", "reduce"] as const;

/** The error a failing check throws; fast-check shows its message beside the counterexample. */
export class InvarianceViolation extends Error {
  constructor(
    message: string,
    readonly error: number,
    readonly tol: number,
  ) {
    super(message);
    this.name = "InvarianceViolation";
  }
}

const isArbitrary = <X>(v: unknown): v is fc.Arbitrary<X> => v instanceof fc.Arbitrary;

/** Inputs as an arbitrary: a fixed input becomes a constant one that prints its shape. */
function inputsOf<X>(op: string, inputs: fc.Arbitrary<X> | X): fc.Arbitrary<X> {
  if (isArbitrary<X>(inputs)) return inputs;
  if (inputs === undefined || inputs === null) throw new Error(`${op}: give the inputs: an arbitrary (check.arb.image(), ...) or a fixed batch`);
  const shapes = (tree.leaves(inputs as never) as Tracer[]).map((l) => `[${l.shape.join(", ")}]`);
  const fixed = typeof inputs === "object" && fc.toStringMethod in (inputs as object) ? inputs : labelled(inputs as object, `the input ${shapes.join(", ")}`);
  return fc.constant(fixed as X);
}

function toleranceFor(out: unknown, tol: number | undefined): number {
  if (tol !== undefined) return tol;
  const leaf = (tree.leaves(out as never) as Tracer[]).find((l) => l.dtype.startsWith("float")) ?? (tree.leaves(out as never) as Tracer[])[0];
  return defaultTolerance(leaf.dtype);
}

function property<X, Y>(op: string, f: (x: X) => Y, groupIn: Group<X>, groupOut: Group<Y> | null, inputs: fc.Arbitrary<X> | X, opts: PropertyOpts) {
  checkOptions(op, opts, PROPERTY_KEYS);
  if (typeof f !== "function") throw new Error(`${op}: f must be a function of the input, got ${typeof f}`);
  if (!groupIn || typeof groupIn.act !== "function" || !(groupIn.arb instanceof fc.Arbitrary))
    throw new Error(`${op}: the group must come from check.groups (rotations2d, c4, so3, ...), got ${String(groupIn)}`);
  if (opts.tol !== undefined && !(opts.tol >= 0)) throw new Error(`${op}: tol must be a non-negative number, got ${opts.tol}`);
  const reduce = opts.reduce ?? "max";
  if (!REDUCES.includes(reduce)) throw new Error(`${op}: reduce must be one of ${REDUCES.join(", ")}, got ${String(reduce)}`);
  const what = groupOut ? "f(g x) differs from g f(x)" : "f(g x) differs from f(x)";
  return fc.asyncProperty(inputsOf(op, inputs), groupIn.arb, async (x: X, g: GroupElement) => {
    const fx = f(x);
    const gap = outputGap(op, f(groupIn.act(x, g)), groupOut ? groupOut.act(fx, g) : fx, batchSize(op, x), reduce);
    const err = Math.max(...Array.from(await gap.data(), Number));
    const tol = toleranceFor(fx, opts.tol);
    if (!(err <= tol)) {
      throw new InvarianceViolation(`${what} by ${err.toPrecision(4)} > tol ${tol} (${reduce} |difference| over an example's outputs) for g = ${g.label} on ${fc.stringify(x)}`, err, tol);
    }
  });
}

/**
 * The property f(g x) = f(x) within `tol`, over inputs (an arbitrary or one fixed batch) and
 * the group's elements. Run it with fast-check, or use the matcher `toBeInvariantUnder`.
 * @example await fc.assert(check.invariant(f, check.groups.c4(), check.arb.image({ size: [2, 6] })), { numRuns: 50 });
 */
export function invariant<X>(f: (x: X) => unknown, group: Group<X>, inputs: fc.Arbitrary<X> | X, opts: PropertyOpts = {}) {
  return property("check.invariant", f, group, null, inputs, opts);
}

/**
 * The property f(g x) = g f(x) within `tol`: `groupIn` acts on inputs and `groupOut` on
 * outputs with the same element (e.g. both `check.groups.c4()` for segmentation maps).
 */
export function equivariant<X, Y>(f: (x: X) => Y, groupIn: Group<X>, groupOut: Group<Y>, inputs: fc.Arbitrary<X> | X, opts: PropertyOpts = {}) {
  if (!groupOut || typeof groupOut.act !== "function") throw new Error(`check.equivariant: groupOut (how g acts on outputs) must come from check.groups, got ${String(groupOut)}`);
  return property("check.equivariant", f, groupIn, groupOut, inputs, opts);
}

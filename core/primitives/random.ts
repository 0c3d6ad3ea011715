/**
 * The counter-based PRNG primitive: threefry2x32 (Salmon et al., "Parallel random numbers:
 * as easy as 1, 2, 3", SC 2011), 20 rounds, exactly as Random123 and JAX compute it.
 * Every random function in core/random.ts reduces to this one bijection of (key, counter),
 * so the same key gives the same bits on every backend and under every transformation.
 */
import { definePrimitive, type Primitive } from "../primitive.ts";
import type { RoutineParams } from "../routines.ts";
import { broadcastShapes, fmtShape, shapeEq } from "../shape.ts";
import { bind } from "../trace.ts";
import type { Tracer } from "../tracer.ts";
import { bdimToFront, broadcastInDim } from "./shape.ts";

export const threefry2x32P: Primitive<RoutineParams["threefry2x32"]> = definePrimitive<RoutineParams["threefry2x32"]>({
  name: "threefry2x32",
  abstractEval(avals) {
    if (avals.length !== 4) throw new Error(`threefry2x32: expected 4 operands (k0, k1, x0, x1), got ${avals.length}`);
    const [a] = avals;
    for (const b of avals) {
      if (b.dtype !== "uint32") throw new Error(`threefry2x32: operands must be uint32, got ${avals.map((v) => v.dtype).join(", ")}`);
      if (!shapeEq(a.shape, b.shape)) throw new Error(`threefry2x32: operand shapes ${avals.map((v) => fmtShape(v.shape)).join(", ")} differ`);
    }
    return [a, a];
  },
  // Random bits carry no derivative.
  jvp: "zero",
  // Elementwise, but with two outputs, so elementwiseBatch (one output) does not fit.
  batch(vals, dims, params, size) {
    const d0 = dims[0];
    if (d0 !== null && dims.every((d) => d === d0)) return [bind(threefry2x32P, vals, params), [d0, d0]];
    return [
      bind(
        threefry2x32P,
        vals.map((v, i) => bdimToFront(v, dims[i], size)),
        params,
      ),
      [0, 0],
    ];
  },
});

/**
 * threefry2x32 with NumPy broadcasting of its four uint32 operands; returns both output words.
 * @example const [y0, y1] = threefry2x32(k0, k1, np.zeros([4], { dtype: "uint32" }), np.arange(4, undefined, 1, { dtype: "uint32" }))
 */
export function threefry2x32(k0: Tracer, k1: Tracer, x0: Tracer, x1: Tracer): [Tracer, Tracer] {
  const ops = [k0, k1, x0, x1];
  const bad = ops.find((o) => o.dtype !== "uint32");
  if (bad) throw new Error(`threefry2x32: operands must be uint32, got ${ops.map((o) => `${o.dtype}${fmtShape(o.shape)}`).join(", ")}`);
  const shape = broadcastShapes("threefry2x32", ...ops.map((o) => o.shape));
  const [y0, y1] = bind(
    threefry2x32P,
    ops.map((o) =>
      broadcastInDim(
        o,
        shape,
        o.shape.map((_, i) => i + shape.length - o.ndim),
      ),
    ),
  );
  return [y0, y1];
}

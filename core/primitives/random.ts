/**
 * The counter-based PRNG primitive: threefry2x32 (Salmon et al., "Parallel random numbers:
 * as easy as 1, 2, 3", SC 2011), 20 rounds, exactly as Random123 and JAX compute it.
 * Every random function in core/random.ts reduces to this one bijection of (key, counter),
 * so the same key gives the same bits on every backend and under every transformation.
 */
import { definePrimitive, type Params, type Primitive } from "../primitive.ts";
import { broadcastShapes, fmtShape, shapeEq } from "../shape.ts";
import { bind } from "../trace.ts";
import type { Tracer } from "../tracer.ts";
import type { TypedArray } from "../dtype.ts";
import { bdimToFront } from "./shape.ts";
import { broadcastTo } from "../np/math.ts";
import { defineCpu } from "../backends/cpu/routines/registry.ts";

// Rotation constants of Threefry-2x32 (Random123's R_32x2_*), one group of four per half cycle.
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const;
// The key-schedule parity constant (Threefish's C240 truncated to 32 bits).
const KS_PARITY = 0x1bd11bda;

/** Rotates a uint32 left by s bits. */
const rotl = (x: number, s: number) => ((x << s) | (x >>> (32 - s))) >>> 0;

/**
 * One threefry2x32 block on scalars: returns [y0, y1] for key (k0, k1) and counter (x0, x1).
 * All arithmetic is mod 2^32: `>>> 0` after each add keeps JS numbers as uint32.
 */
export function threefry2x32Scalar(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const out = new Uint32Array(2);
  threefryBlock(k0, k1, x0, x1, out, out, 0, 1);
  return [out[0], out[1]];
}

/** Writes the block for (k0, k1, x0, x1) to y0[i0] and y1[i1], without allocating. */
function threefryBlock(k0: number, k1: number, x0: number, x1: number, y0: TypedArray, y1: TypedArray, i0: number, i1: number): void {
  const ks0 = k0 >>> 0;
  const ks1 = k1 >>> 0;
  const ks2 = (KS_PARITY ^ k0 ^ k1) >>> 0;
  const ks = [ks0, ks1, ks2];
  x0 = (x0 + ks0) >>> 0;
  x1 = (x1 + ks1) >>> 0;
  // Five blocks of four rounds; after block b the key schedule injects ks[(b+1)%3] and ks[(b+2)%3] + b + 1.
  for (let b = 0; b < 5; b++) {
    const r = (b & 1) * 4;
    x0 = (x0 + x1) >>> 0; x1 = rotl(x1, ROTATIONS[r]) ^ x0;
    x0 = (x0 + x1) >>> 0; x1 = rotl(x1, ROTATIONS[r + 1]) ^ x0;
    x0 = (x0 + x1) >>> 0; x1 = rotl(x1, ROTATIONS[r + 2]) ^ x0;
    x0 = (x0 + x1) >>> 0; x1 = rotl(x1, ROTATIONS[r + 3]) ^ x0;
    x0 = (x0 + ks[(b + 1) % 3]) >>> 0;
    x1 = (x1 + ks[(b + 2) % 3] + b + 1) >>> 0;
  }
  y0[i0] = x0;
  y1[i1] = x1;
}

function threefryKernel([k0, k1, x0, x1]: TypedArray[], [y0, y1]: TypedArray[]): void {
  for (let i = 0; i < y0.length; i++) threefryBlock(k0[i], k1[i], x0[i], x1[i], y0, y1, i, i);
}

export const threefry2x32P: Primitive = definePrimitive({
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
  batch(vals: Tracer[], dims: (number | null)[], params: Params, size: number) {
    const d0 = dims[0];
    if (d0 !== null && dims.every((d) => d === d0)) return [bind(threefry2x32P, vals, params), [d0, d0]];
    return [bind(threefry2x32P, vals.map((v, i) => bdimToFront(v, dims[i], size)), params), [0, 0]];
  },
});
defineCpu("threefry2x32", threefryKernel);

/**
 * threefry2x32 with NumPy broadcasting of its four uint32 operands; returns both output words.
 * @example const [y0, y1] = threefry2x32(k0, k1, np.zeros([4], { dtype: "uint32" }), np.arange(4, undefined, 1, { dtype: "uint32" }))
 */
export function threefry2x32(k0: Tracer, k1: Tracer, x0: Tracer, x1: Tracer): [Tracer, Tracer] {
  const ops = [k0, k1, x0, x1];
  const bad = ops.find((o) => o.dtype !== "uint32");
  if (bad) throw new Error(`threefry2x32: operands must be uint32, got ${ops.map((o) => `${o.dtype}${fmtShape(o.shape)}`).join(", ")}`);
  const shape = broadcastShapes("threefry2x32", ...ops.map((o) => o.shape));
  const [y0, y1] = bind(threefry2x32P, ops.map((o) => broadcastTo(o, shape)));
  return [y0, y1];
}

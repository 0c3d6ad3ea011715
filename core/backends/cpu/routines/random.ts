/**
 * Threefry-2x32 random bits on the CPU, and the scalar reference the tests check every backend against.
 */
import type { TypedArray } from "../../../dtype.ts";
import type { CpuRoutine, CpuRoutines } from "./registry.ts";

const threefry2x32: CpuRoutine<"threefry2x32"> = threefryKernel;

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
    x0 = (x0 + x1) >>> 0;
    x1 = rotl(x1, ROTATIONS[r]) ^ x0;
    x0 = (x0 + x1) >>> 0;
    x1 = rotl(x1, ROTATIONS[r + 1]) ^ x0;
    x0 = (x0 + x1) >>> 0;
    x1 = rotl(x1, ROTATIONS[r + 2]) ^ x0;
    x0 = (x0 + x1) >>> 0;
    x1 = rotl(x1, ROTATIONS[r + 3]) ^ x0;
    x0 = (x0 + ks[(b + 1) % 3]) >>> 0;
    x1 = (x1 + ks[(b + 2) % 3] + b + 1) >>> 0;
  }
  y0[i0] = x0;
  y1[i1] = x1;
}

function threefryKernel([k0, k1, x0, x1]: TypedArray[], [y0, y1]: TypedArray[]): void {
  for (let i = 0; i < y0.length; i++) threefryBlock(k0[i], k1[i], x0[i], x1[i], y0, y1, i, i);
}

export const randomRoutines: CpuRoutines<"threefry2x32"> = { threefry2x32 };

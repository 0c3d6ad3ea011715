/** Shape arithmetic shared by the primitives' abstract-evaluation rules. */

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapeEq(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** NumPy broadcasting of two shapes; throws naming the operation when they do not broadcast. */
export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i];
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new Error(`${op}: cannot broadcast ${shapes.map(fmtShape).join(" with ")}`);
      }
    }
  }
  return out;
}

/** Normalises a possibly negative axis against a rank, naming the op on error. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`${op}: axis ${axis} is out of bounds for an array of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalises `axis` options (undefined = all axes) into a sorted unique list. */
export function normalizeAxes(op: string, axis: number | readonly number[] | undefined | null, rank: number): number[] {
  if (axis === undefined || axis === null) return [...Array(rank).keys()];
  const list = typeof axis === "number" ? [axis] : [...axis];
  const out = list.map((a) => normalizeAxis(op, a, rank));
  if (new Set(out).size !== out.length) throw new Error(`${op}: repeated axis in ${JSON.stringify(axis)}`);
  return out.sort((a, b) => a - b);
}

/**
 * The most elements one kernel may address. Every backend indexes with 32-bit integers (wasm's
 * signed i32 on the CPU, u32 in WGSL and CUDA C), and a larger loop would wrap around and return
 * a wrong answer silently (a jitted sum over 2^32 elements gave the count modulo 2^32), so larger
 * arrays and loop spaces are refused instead; split the work (e.g. sum over chunks) to go beyond.
 */
export const MAX_KERNEL_ELEMENTS = 2 ** 31 - 1;

/** Throws naming the op and the size when `shape` holds more elements than a kernel can address. */
export function checkAddressable(op: string, shape: readonly number[]): void {
  const n = sizeOf(shape);
  if (n > MAX_KERNEL_ELEMENTS) {
    throw new Error(
      `${op}: ${fmtShape(shape)} has ${n} elements, more than the ${MAX_KERNEL_ELEMENTS} (2^31 - 1) that 32-bit kernel index arithmetic addresses on every backend; split the computation into smaller pieces`,
    );
  }
}

export function checkShape(op: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${op}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  // Before anything is allocated: [2 ** 31] would otherwise fill 8 GiB for an array no kernel can index.
  checkAddressable(op, shape as number[]);
  return shape as number[];
}

export function isPermutation(perm: readonly number[], rank: number): boolean {
  return perm.length === rank && new Set(perm).size === rank && perm.every((p) => Number.isInteger(p) && p >= 0 && p < rank);
}

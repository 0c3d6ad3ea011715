/** Element types. float64 is available on the CPU backend, mainly as a precise reference for tests. */
export type DType = "float32" | "float64" | "int32" | "uint32" | "bool";

export const DTYPES: readonly DType[] = ["float32", "float64", "int32", "uint32", "bool"];

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

const CTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  bool: Uint8Array,
} as const;

export function typedArrayFor(dtype: DType, size: number): TypedArray {
  return new CTORS[dtype](size);
}

export function typedArrayFrom(dtype: DType, buffer: ArrayBuffer, size: number, byteOffset = 0): TypedArray {
  return new CTORS[dtype](buffer, byteOffset, size);
}

export function bytesPer(dtype: DType): number {
  return CTORS[dtype].BYTES_PER_ELEMENT;
}

export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

export function isInt(dtype: DType): boolean {
  return dtype === "int32" || dtype === "uint32";
}

export function checkDType(dtype: unknown, where: string): DType {
  if (typeof dtype !== "string" || !(DTYPES as readonly string[]).includes(dtype)) {
    throw new TypeError(`${where}: unknown dtype ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(", ")}`);
  }
  return dtype as DType;
}

const RANK: Record<DType, number> = { bool: 0, uint32: 1, int32: 2, float32: 3, float64: 4 };

/** The dtype two array operands promote to (bool < uint32 < int32 < float32 < float64). */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * The dtype a JS number takes next to an array of `other` (JAX's weak typing):
 * it adopts the array's dtype unless that would lose the value's kind.
 */
export function weakTypeFor(value: number | boolean, other: DType): DType {
  if (typeof value === "boolean") return other;
  if (isFloat(other)) return other;
  if (Number.isInteger(value)) return other === "bool" ? "int32" : other;
  return "float32";
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = { int32: [-2147483648, 2147483647], uint32: [0, 4294967295] };

/**
 * castScalar for values the caller wrote (np.array, full, arange, linspace): an integer dtype
 * refuses NaN, infinities and values outside its range, as jnp.array refuses a Python int that
 * overflows; a cast would silently store a different number. Fractions truncate, as in NumPy.
 */
export function castKnown(op: string, value: number, dtype: DType): number {
  const range = INT_RANGE[dtype];
  if (range && !(Math.trunc(value) >= range[0] && Math.trunc(value) <= range[1])) {
    throw new Error(`${op}: ${value} is out of range for ${dtype} (valid: ${range[0]} to ${range[1]})`);
  }
  return castScalar(value, dtype);
}

/**
 * A JS expression for float `a` converted to int32/uint32 as XLA converts on CPU and GPU:
 * truncate, saturate at the dtype's bounds, NaN to 0. WGSL's i32()/u32() saturate, so every
 * backend gives these bits (the wasm kernels use i32.trunc_sat_f64_s/u).
 */
export function saturateJs(a: string, to: "int32" | "uint32"): string {
  const [lo, hi] = INT_RANGE[to]!;
  return `(${a} !== ${a} ? 0 : ${a} <= ${lo} ? ${lo} : ${a} >= ${hi} ? ${hi} : Math.trunc(${a}))`;
}

/** Rounds a JS number to what a dtype stores (the cast a typed array would do, with bool as 0/1). */
export function castScalar(value: number, dtype: DType): number {
  switch (dtype) {
    case "float32":
      return Math.fround(value);
    case "float64":
      return value;
    case "int32":
      return Number.isFinite(value) ? Math.trunc(value) | 0 : 0;
    case "uint32":
      return Number.isFinite(value) ? Math.trunc(value) >>> 0 : 0;
    case "bool":
      return value ? 1 : 0;
  }
}

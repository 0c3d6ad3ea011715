/** Array creation: array, zeros, ones, full, arange, linspace, eye, zerosLike, onesLike. */
import { arrayFrom, fromTyped, type ArrayData, NDArray } from "../array.ts";
import { castScalar, checkDType, typedArrayFor, type DType } from "../dtype.ts";
import { checkShape, sizeOf } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import { broadcastInDim } from "../primitives/shape.ts";
import { scalar } from "../array.ts";

export interface CreateOpts {
  dtype?: DType;
  backend?: string;
}

/**
 * An array from nested JS arrays, numbers, booleans or a TypedArray.
 * @example np.array([[1, 2], [3, 4]]) // float32 [2,2]
 */
export function array(data: ArrayData | Tracer, opts: CreateOpts = {}): Tracer {
  if (data instanceof NDArray) return opts.dtype && opts.dtype !== data.dtype ? data.astype(opts.dtype) : data;
  if (typeof data === "object" && data !== null && !Array.isArray(data) && !ArrayBuffer.isView(data)) {
    // A tracer: arrays are immutable, so the same value serves.
    const t = data as Tracer;
    return opts.dtype && opts.dtype !== t.dtype ? t.astype(opts.dtype) : t;
  }
  return arrayFrom(data as ArrayData, opts);
}

/** An array of `shape` filled with `value`. Materialised by broadcasting one scalar. */
export function full(shape: number[], value: number | boolean, opts: CreateOpts = {}): Tracer {
  checkShape("full", shape);
  const dtype = opts.dtype ? checkDType(opts.dtype, "full") : typeof value === "boolean" ? "bool" : "float32";
  const data = typedArrayFor(dtype, sizeOf(shape));
  data.fill(castScalar(typeof value === "boolean" ? Number(value) : value, dtype));
  return fromTyped(data, shape, dtype, opts.backend);
}

export function zeros(shape: number[], opts: CreateOpts = {}): Tracer {
  return full(shape, 0, opts);
}

export function ones(shape: number[], opts: CreateOpts = {}): Tracer {
  return full(shape, 1, opts);
}

export function zerosLike(x: Tracer, opts: CreateOpts = {}): Tracer {
  return fullLike(x, 0, opts);
}

export function onesLike(x: Tracer, opts: CreateOpts = {}): Tracer {
  return fullLike(x, 1, opts);
}

/** Like `full` with x's shape and dtype; a broadcast scalar, so it is cheap under tracing too. */
export function fullLike(x: Tracer, value: number | boolean, opts: CreateOpts = {}): Tracer {
  const dtype = opts.dtype ?? x.dtype;
  return broadcastInDim(scalar(typeof value === "boolean" ? Number(value) : value, dtype, opts.backend), x.shape, []);
}

/**
 * Evenly spaced values in [start, stop). With one argument, [0, stop).
 * @example np.arange(5) // [0,1,2,3,4] int32
 */
export function arange(start: number, stop?: number, step = 1, opts: CreateOpts = {}): Tracer {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error("arange: step must not be zero");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = opts.dtype ?? ([start, stop, step].every(Number.isInteger) ? "int32" : "float32");
  const data = typedArrayFor(dtype, n);
  for (let i = 0; i < n; i++) data[i] = castScalar(start + i * step, dtype);
  return fromTyped(data, [n], dtype, opts.backend);
}

/** `num` evenly spaced values from start to stop (inclusive unless endpoint is false). */
export function linspace(start: number, stop: number, num = 50, opts: CreateOpts & { endpoint?: boolean } = {}): Tracer {
  if (!Number.isInteger(num) || num < 0) throw new Error(`linspace: num must be a non-negative integer, got ${num}`);
  const dtype = opts.dtype ?? "float32";
  const div = opts.endpoint === false ? num : num - 1;
  const data = typedArrayFor(dtype, num);
  for (let i = 0; i < num; i++) data[i] = castScalar(div > 0 ? start + ((stop - start) * i) / div : start, dtype);
  if (num > 1 && opts.endpoint !== false) data[num - 1] = castScalar(stop, dtype);
  return fromTyped(data, [num], dtype, opts.backend);
}

/** The n x m identity (ones on diagonal k). */
export function eye(n: number, m = n, opts: CreateOpts & { k?: number } = {}): Tracer {
  const dtype = opts.dtype ?? "float32";
  const k = opts.k ?? 0;
  const data = typedArrayFor(dtype, n * m);
  for (let i = 0; i < n; i++) if (i + k >= 0 && i + k < m) data[i * m + i + k] = 1;
  return fromTyped(data, [n, m], dtype, opts.backend);
}

/** Array creation: array, zeros, ones, full, arange, linspace, eye, zerosLike, onesLike. */
import { arrayFrom, fromTyped, type ArrayData, NDArray } from "../array.ts";
import { castKnown, checkDType, typedArrayFor, type DType } from "../dtype.ts";
import { checkAddressable, checkShape, sizeOf } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import { broadcastInDim } from "../primitives/shape.ts";
import { scalar } from "../array.ts";
import { DTYPE, optionsOf } from "../options.ts";

export interface CreateOpts {
  dtype?: DType;
  backend?: string;
}
/** A creation function's last argument: a dtype (NumPy's positional form) or `{ dtype, backend }`. */
export type DTypeArg = DType | CreateOpts;

const CREATE_KEYS = ["dtype", "backend"] as const;

/** `np.ones([2], "int32")` and `np.ones([2], { dtype: "int32" })` alike; the dtype is checked. */
function createOpts<T extends CreateOpts>(op: string, arg: unknown, keys: readonly string[] = CREATE_KEYS, positional = DTYPE): T {
  const opts = optionsOf<T>(op, arg, keys, positional);
  if (opts.dtype !== undefined) checkDType(opts.dtype, op);
  return opts;
}

function checkNumber(op: string, name: string, v: unknown): void {
  if (typeof v !== "number" || Number.isNaN(v)) throw new Error(`${op}: ${name} must be a number, got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`);
}

/**
 * An array from nested JS arrays, numbers, booleans or a TypedArray.
 * @example np.array([[1, 2], [3, 4]]) // float32 [2,2]
 */
export function array(data: ArrayData | Tracer, dtypeOrOpts?: DTypeArg): Tracer {
  const opts = createOpts("array", dtypeOrOpts);
  if (data instanceof NDArray) return opts.dtype && opts.dtype !== data.dtype ? data.astype(opts.dtype) : data;
  if (typeof data === "object" && data !== null && !Array.isArray(data) && !ArrayBuffer.isView(data)) {
    // A tracer: arrays are immutable, so the same value serves.
    const t = data as Tracer;
    return opts.dtype && opts.dtype !== t.dtype ? t.astype(opts.dtype) : t;
  }
  return arrayFrom(data as ArrayData, opts);
}

/** An array of `shape` filled with `value`. @example np.full([2, 2], 7, "int32") */
export function full(shape: number[], value: number | boolean, dtypeOrOpts?: DTypeArg): Tracer {
  const opts = createOpts("full", dtypeOrOpts);
  checkShape("full", shape);
  if (typeof value !== "boolean") checkNumber("full", "value", value);
  const dtype = opts.dtype ? checkDType(opts.dtype, "full") : typeof value === "boolean" ? "bool" : "float32";
  const data = typedArrayFor(dtype, sizeOf(shape));
  data.fill(castKnown("full", typeof value === "boolean" ? Number(value) : value, dtype));
  return fromTyped(data, shape, dtype, opts.backend);
}

/** @example np.zeros([2, 3], "int32") // the same as np.zeros([2, 3], { dtype: "int32" }) */
export function zeros(shape: number[], dtypeOrOpts?: DTypeArg): Tracer {
  return full(shape, 0, createOpts("zeros", dtypeOrOpts));
}

export function ones(shape: number[], dtypeOrOpts?: DTypeArg): Tracer {
  return full(shape, 1, createOpts("ones", dtypeOrOpts));
}

export function zerosLike(x: Tracer, dtypeOrOpts?: DTypeArg): Tracer {
  return fullLike(x, 0, createOpts("zerosLike", dtypeOrOpts));
}

export function onesLike(x: Tracer, dtypeOrOpts?: DTypeArg): Tracer {
  return fullLike(x, 1, createOpts("onesLike", dtypeOrOpts));
}

/** Like `full` with x's shape and dtype; a broadcast scalar, so it is cheap under tracing too. */
export function fullLike(x: Tracer, value: number | boolean, dtypeOrOpts?: DTypeArg): Tracer {
  const opts = createOpts("fullLike", dtypeOrOpts);
  const dtype = opts.dtype ?? x.dtype;
  return broadcastInDim(scalar(typeof value === "boolean" ? Number(value) : value, dtype, opts.backend), x.shape, []);
}

/**
 * Evenly spaced values in [start, stop). With one argument, [0, stop).
 * @example np.arange(5) // [0,1,2,3,4] int32
 */
export function arange(start: number, stop?: number | null, step: number | null = 1, dtypeOrOpts?: DTypeArg): Tracer {
  const opts = createOpts("arange", dtypeOrOpts);
  step ??= 1;
  for (const [name, v] of [
    ["start", start],
    ["stop", stop ?? 0],
    ["step", step],
  ] as const)
    checkNumber("arange", name, v);
  if (stop === undefined || stop === null) [start, stop] = [0, start];
  if (step === 0) throw new Error("arange: step must not be zero");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = opts.dtype ?? ([start, stop, step].every(Number.isInteger) ? "int32" : "float32");
  checkAddressable("arange", [n]);
  const data = typedArrayFor(dtype, n);
  for (let i = 0; i < n; i++) data[i] = castKnown("arange", start + i * step, dtype);
  return fromTyped(data, [n], dtype, opts.backend);
}

/** `num` evenly spaced values from start to stop (inclusive unless endpoint is false). */
export function linspace(start: number, stop: number, num = 50, dtypeOrOpts?: DType | (CreateOpts & { endpoint?: boolean })): Tracer {
  const opts = createOpts<CreateOpts & { endpoint?: boolean }>("linspace", dtypeOrOpts, [...CREATE_KEYS, "endpoint"]);
  checkNumber("linspace", "start", start);
  checkNumber("linspace", "stop", stop);
  if (!Number.isInteger(num) || num < 0) throw new Error(`linspace: num must be a non-negative integer, got ${num}`);
  const dtype = opts.dtype ?? "float32";
  const div = opts.endpoint === false ? num : num - 1;
  checkAddressable("linspace", [num]);
  const data = typedArrayFor(dtype, num);
  for (let i = 0; i < num; i++) data[i] = castKnown("linspace", div > 0 ? start + ((stop - start) * i) / div : start, dtype);
  if (num > 1 && opts.endpoint !== false) data[num - 1] = castKnown("linspace", stop, dtype);
  return fromTyped(data, [num], dtype, opts.backend);
}

const K = { key: "k", what: "a diagonal offset k (an integer)", is: (v: unknown) => Number.isInteger(v) };

/** The n x m identity (ones on diagonal k). @example np.eye(3, 3, 1) // ones above the diagonal; np.eye(2, 2, "int32") */
export function eye(n: number, m?: number | null, kOrOpts?: number | DType | (CreateOpts & { k?: number })): Tracer {
  const opts = createOpts<CreateOpts & { k?: number }>("eye", kOrOpts, [...CREATE_KEYS, "k"], typeof kOrOpts === "string" ? DTYPE : K);
  m ??= n;
  for (const [name, v] of [
    ["n", n],
    ["m", m],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`eye: ${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  const dtype = opts.dtype ?? "float32";
  const k = opts.k ?? 0;
  checkAddressable("eye", [n, m]);
  const data = typedArrayFor(dtype, n * m);
  for (let i = 0; i < n; i++) if (i + k >= 0 && i + k < m) data[i * m + i + k] = 1;
  return fromTyped(data, [n, m], dtype, opts.backend);
}

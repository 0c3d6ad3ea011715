/** Turning user values (numbers, nested arrays, TypedArrays, arrays) into arrays. */
import { arrayFrom, scalar, type ArrayData } from "./array.ts";
import { weakTypeFor, type DType } from "./dtype.ts";
import { Tracer } from "./tracer.ts";

export type ArrayLike = Tracer | ArrayData;

export function isTracer(x: unknown): x is Tracer {
  return x instanceof Tracer;
}

/**
 * An array from any array-like; JS numbers take `dtypeHint` (weak typing) when given and
 * are made on `backend` (default: the default backend).
 */
export function asArray(x: ArrayLike, dtypeHint?: DType, backend?: string): Tracer {
  if (x instanceof Tracer) return x;
  if (typeof x === "number" || typeof x === "boolean") {
    return scalar(x, dtypeHint ? weakTypeFor(x, dtypeHint) : typeof x === "boolean" ? "bool" : "float32", backend);
  }
  return arrayFrom(x);
}

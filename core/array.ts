/**
 * Concrete arrays. An NDArray owns one backend buffer; the buffer goes back to the
 * backend's pool when the array is garbage-collected, or at once on `dispose()` /
 * `using`. Users never count references.
 */
import { castKnown, castScalar, checkDType, isFloat, type DType, type TypedArray } from "./dtype.ts";
import { getBackend, type Backend, type Handle } from "./backend.ts";
import type { Params, Primitive } from "./primitive.ts";
import { checkAddressable, fmtShape, sizeOf, stridesOf } from "./shape.ts";
import { evalHooks, Trace, type MainTrace } from "./trace.ts";
import { fmtAval, Tracer, type ShapedArray } from "./tracer.ts";
import { eagerKernel, runsAsKernel } from "./compiler/eager.ts";
import { routineCall } from "./routines.ts";

interface Owned {
  backend: Backend;
  handle: Handle;
  aval: ShapedArray;
}

const finalizer = new FinalizationRegistry<Owned>((o) => o.backend.free(o.handle, o.aval));

export class NDArray extends Tracer {
  #owned: Owned | null;
  readonly #aval: ShapedArray;

  constructor(aval: ShapedArray, backend: Backend, handle: Handle) {
    super();
    this.#aval = { shape: Object.freeze([...aval.shape]), dtype: aval.dtype };
    this.#owned = { backend, handle, aval: this.#aval };
    finalizer.register(this, this.#owned, this);
  }

  get aval(): ShapedArray {
    return this.#aval;
  }
  get backend(): string {
    return this.#live().backend.name;
  }
  /** @internal */
  get handle(): Handle {
    return this.#live().handle;
  }
  /** @internal */
  get backendImpl(): Backend {
    return this.#live().backend;
  }
  get isDisposed(): boolean {
    return this.#owned === null;
  }

  #live(): Owned {
    if (!this.#owned) throw new Error(`array ${fmtAval(this.#aval)} was used after dispose()`);
    return this.#owned;
  }

  /** Synchronous read; the CPU backend only. Returns a copy. */
  override dataSync(): TypedArray {
    const o = this.#live();
    if (!o.backend.readSync) throw new Error(`dataSync: backend "${o.backend.name}" reads asynchronously; use await x.data()`);
    return o.backend.readSync(o.handle, this.#aval);
  }

  /** Reads the elements (row-major) into a fresh TypedArray. */
  override async data(): Promise<TypedArray> {
    const o = this.#live();
    return o.backend.read(o.handle, this.#aval);
  }

  /** Nested JS arrays (numbers, or booleans for bool arrays). */
  override async toArray(): Promise<NestedArray> {
    return nest(await this.data(), this.#aval);
  }

  /** Nested JS arrays, synchronously (CPU backend). */
  override toArraySync(): NestedArray {
    return nest(this.dataSync(), this.#aval);
  }

  /** The single element of a size-1 array, synchronously (CPU backend). */
  override item(): number | boolean {
    if (this.size !== 1) throw new Error(`item: array ${fmtAval(this.#aval)} has ${this.size} elements, expected 1`);
    const v = this.dataSync()[0];
    return this.dtype === "bool" ? v !== 0 : v;
  }

  /** Moves (copies) the array to another started backend. */
  async to(name: string): Promise<NDArray> {
    const target = getBackend(name);
    if (target === this.#live().backend) return this;
    return new NDArray(this.#aval, target, target.upload(await this.data(), this.dtype));
  }

  /** @internal A copy on a started backend, synchronously (the source must read synchronously). */
  copyTo(target: Backend): NDArray {
    return new NDArray(this.#aval, target, target.upload(this.dataSync(), this.dtype));
  }

  override dispose(): void {
    if (!this.#owned) return;
    finalizer.unregister(this);
    this.#owned.backend.free(this.#owned.handle, this.#aval);
    this.#owned = null;
  }

  override [Symbol.dispose](): void {
    this.dispose();
  }

  override [Symbol.toPrimitive](hint: string): number | string {
    if (hint === "string") return this.toString();
    if (this.size !== 1) throw new Error(`Cannot convert an array ${fmtAval(this.#aval)} with ${this.size} elements to a number`);
    return Number(this.item());
  }

  override toString(): string {
    if (this.#owned === null) return `Array(${fmtAval(this.#aval)}, disposed)`;
    if (!this.#owned.backend.readSync) return `Array(${fmtAval(this.#aval)}, ${this.backend})`;
    return `Array(${JSON.stringify(this.toArraySync())}, ${this.dtype})`;
  }
}

export type NestedArray = number | boolean | NestedArray[];

function nest(data: TypedArray, aval: ShapedArray): NestedArray {
  const conv = (v: number) => (aval.dtype === "bool" ? v !== 0 : v);
  if (aval.shape.length === 0) return conv(data[0]);
  const strides = stridesOf(aval.shape);
  const build = (dim: number, off: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < aval.shape[dim]; i++) {
      const o = off + i * strides[dim];
      out.push(dim === aval.shape.length - 1 ? conv(data[o]) : build(dim + 1, o));
    }
    return out;
  };
  return build(0, 0);
}

/** Creates a concrete array from a typed array of the right length. */
export function fromTyped(data: TypedArray, shape: readonly number[], dtype: DType, backend?: string): NDArray {
  if (data.length !== sizeOf(shape)) throw new Error(`array: ${data.length} values do not fill shape ${fmtShape(shape)}`);
  const b = getBackend(backend);
  return new NDArray({ shape, dtype }, b, b.upload(data, dtype));
}

export type ArrayData = number | boolean | TypedArray | ArrayData[] | readonly ArrayData[];

function inferShape(data: ArrayData): number[] {
  const shape: number[] = [];
  let d: ArrayData = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    if (d.length === 0) break;
    d = d[0];
  }
  if (ArrayBuffer.isView(d)) shape.push((d as TypedArray).length);
  return shape;
}

function dtypeOfTyped(d: TypedArray): DType {
  if (d instanceof Float32Array) return "float32";
  if (d instanceof Float64Array) return "float64";
  if (d instanceof Int32Array) return "int32";
  if (d instanceof Uint32Array) return "uint32";
  return "bool";
}

/** Builds a concrete array from nested JS arrays, numbers, booleans or TypedArrays. */
export function arrayFrom(data: ArrayData, opts: { dtype?: DType; backend?: string } = {}): NDArray {
  const shape = inferShape(data);
  const flat: number[] = [];
  let sawFloat = false;
  let sawBool = false;
  let firstTyped: TypedArray | undefined;
  const walk = (d: ArrayData, dim: number) => {
    if (Array.isArray(d)) {
      if (dim >= shape.length || d.length !== shape[dim]) throw new Error(`array: ragged nested data; expected length ${shape[dim]} at depth ${dim}`);
      for (const e of d) walk(e, dim + 1);
    } else if (ArrayBuffer.isView(d)) {
      const t = d as TypedArray;
      if (dim !== shape.length - 1 || t.length !== shape[dim]) throw new Error(`array: ragged nested data at depth ${dim}`);
      firstTyped ??= t;
      for (let i = 0; i < t.length; i++) flat.push(t[i]);
    } else if (typeof d === "number") {
      if (dim !== shape.length) throw new Error(`array: ragged nested data at depth ${dim}`);
      if (!Number.isInteger(d)) sawFloat = true;
      flat.push(d);
    } else if (typeof d === "boolean") {
      if (dim !== shape.length) throw new Error(`array: ragged nested data at depth ${dim}`);
      sawBool = true;
      flat.push(d ? 1 : 0);
    } else {
      throw new TypeError(`array: unsupported element ${String(d)} (${typeof d}); expected numbers, booleans, nested arrays or TypedArrays`);
    }
  };
  walk(data, 0);
  // JS has one number type, so plain numbers become float32 (as in jax-js); typed arrays keep their own dtype.
  const inferred: DType = firstTyped ? dtypeOfTyped(firstTyped) : sawBool && !sawFloat && flat.every((v) => v === 0 || v === 1) && allBool(data) ? "bool" : "float32";
  const dtype = opts.dtype !== undefined ? checkDType(opts.dtype, "array") : inferred;
  const b = getBackend(opts.backend);
  if (!isFloat(dtype)) for (const v of flat) castKnown("array", v, dtype);
  const typed = castArray(flat, dtype);
  return new NDArray({ shape, dtype }, b, b.upload(typed, dtype));
}

function allBool(d: ArrayData): boolean {
  if (Array.isArray(d)) return d.every(allBool);
  return typeof d === "boolean";
}

function castArray(flat: number[], dtype: DType): TypedArray {
  const out = new { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array }[dtype](flat.length);
  if (isFloat(dtype)) out.set(flat);
  else for (let i = 0; i < flat.length; i++) out[i] = castScalar(flat[i], dtype);
  return out;
}

/** A scalar (rank-0) array. */
export function scalar(value: number | boolean, dtype: DType, backend?: string): NDArray {
  const t = castArray([typeof value === "boolean" ? (value ? 1 : 0) : value], dtype);
  const b = getBackend(backend);
  return new NDArray({ shape: [], dtype }, b, b.upload(t, dtype));
}

/**
 * Inputs on one backend. CPU arrays next to arrays on one accelerator are copied there
 * (scalars and constants that library code creates on the default CPU backend, as JAX
 * moves uncommitted arrays); arrays on two different accelerators are an error.
 */
function placeInputs(prim: Primitive, arrays: NDArray[]): NDArray[] {
  const cpu = getBackend("cpu");
  const others = new Set(arrays.map((a) => a.backendImpl).filter((b) => b !== cpu));
  if (others.size === 0) return arrays;
  if (others.size > 1) {
    throw new Error(`${prim.name}: inputs live on different backends (${[...others].map((b) => b.name).join(" and ")}); move them with x.to(name)`);
  }
  const target = [...others][0];
  return arrays.map((a) => (a.backendImpl === target ? a : a.copyTo(target)));
}

/** Copies made by placeInputs belong to one call. */
function disposeCopies(arrays: NDArray[], given: Tracer[]): void {
  arrays.forEach((a, i) => a !== given[i] && a.dispose());
}

/** Counters for tests: primitives run one by one (eagerly, outside compiled programs). */
export const evalStats = { primitivesRun: 0 };

/** Level 0: runs each primitive's kernel on the backend holding its inputs. */
class EvalTrace extends Trace {
  pure(v: Tracer): Tracer {
    return v;
  }
  lift(v: Tracer): Tracer {
    return v;
  }
  processPrimitive(prim: Primitive, tracers: Tracer[], params: Params): Tracer[] {
    if (prim.inline) return prim.inline(tracers, params);
    if (prim.evaluate) return prim.evaluate(tracers, params);
    evalStats.primitivesRun++;
    const arrays = placeInputs(prim, tracers as NDArray[]);
    const inAvals = arrays.map((a) => a.aval);
    const outAvals = prim.abstractEval(inAvals, params);
    for (const a of outAvals) checkAddressable(prim.name, a.shape);
    const backend = arrays.length > 0 ? arrays[0].backendImpl : getBackend(params.backend as string | undefined);
    if (prim.viewOf !== undefined && backend.share) {
      // Same elements, new shape: the output owns the input's buffer too (arrays are immutable).
      const out = new NDArray(outAvals[0], backend, backend.share(arrays[prim.viewOf].handle));
      disposeCopies(arrays, tracers);
      return [out];
    }
    if (runsAsKernel(prim) && backend.runKernel) {
      const { kernel, order } = eagerKernel(prim, inAvals, params, outAvals);
      const limit = backend.maxKernelInputs ?? Infinity;
      if (kernel.inputs.length > limit) {
        if (!prim.chunked) throw new Error(`${prim.name}: reads ${kernel.inputs.length} buffers, more than the ${limit} one ${backend.name} kernel may bind`);
        disposeCopies(arrays, tracers);
        return prim.chunked(tracers, params, limit);
      }
      const out = backend.runKernel(
        kernel,
        order.map((i) => arrays[i].handle),
        prim.name,
      );
      disposeCopies(arrays, tracers);
      return [new NDArray(outAvals[0], backend, out)];
    }
    const handles = backend.execute(
      routineCall(prim.name, params, inAvals, outAvals),
      arrays.map((a) => a.handle),
    );
    disposeCopies(arrays, tracers);
    return handles.map((h, i) => new NDArray(outAvals[i], backend, h));
  }
}

evalHooks.evalTrace = (main: MainTrace) => new EvalTrace(main);

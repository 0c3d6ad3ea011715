/**
 * Pseudo-random numbers from counter-based threefry2x32 keys, bit for bit as JAX computes
 * them with raw uint32 keys and `jax_threefry_partitionable = True` (the default since JAX 0.5).
 * Keys are plain arrays, so every function here works eagerly and under jit, vmap (map over
 * a [B, 2] batch of keys) and grad (uniform is differentiable in minval and maxval).
 *
 * Bit layout:
 * - A key is a uint32 array of shape [2]: [hi, lo], the high and low 32-bit words of the seed.
 *   key(0) = [0, 0]; key(2**32 + 5) = [1, 5]; key(-1) = [0, 0xffffffff] (a negative seed is
 *   read as an int32, as JAX does with x64 disabled).
 * - Counters: element i (row-major flat index) of a draw of shape S uses the 64-bit counter i,
 *   split into the words (c_hi, c_lo) = (floor(i / 2^32), i mod 2^32).
 * - (y0, y1) = threefry2x32(key = (hi, lo), counter = (c_hi, c_lo)); a 32-bit draw is y0 ^ y1.
 * - split(key, n)[i] = [y0, y1] at counter (0, i); foldIn(key, d) = [y0, y1] at counter (0, d mod 2^32).
 * - uniform float32 = bitcast((bits >>> 9) | 0x3f800000) - 1, a float in [0, 1) from the top
 *   23 bits, then scaled to [minval, maxval).
 *
 * @example
 * import { random } from "augerino";
 * const [k1, k2] = random.split(random.key(0));   // split returns a [2,2] array; rows destructure
 * const x = random.normal(k1, [3, 2]);             // float32 [3,2]
 * const u = random.uniform(k2, [4], { minval: -1, maxval: 1 });
 */
import { fromTyped, scalar } from "./array.ts";
import { asArray, type ArrayLike } from "./convert.ts";
import { isFloat, isInt, type DType } from "./dtype.ts";
import { checkAddressable, checkShape, fmtShape, normalizeAxis, shapeEq, sizeOf } from "./shape.ts";
import { fmtAval, Tracer } from "./tracer.ts";
import * as ew from "./primitives/elementwise.ts";
import { reshape, slice } from "./primitives/shape.ts";
import { argsort } from "./primitives/sort.ts";
import { threefry2x32 } from "./primitives/random.ts";
import * as np from "./np.ts";
import { AXIS, DTYPE, describeArg, isPlainObject, optionsOf } from "./options.ts";

/** A key array whose leading axis can be destructured: `const [a, b] = random.split(k)`. */
export type KeyArray = Tracer & Iterable<Tracer>;

function checkKey(fn: string, key: unknown): Tracer {
  if (!(key instanceof Tracer)) throw new TypeError(`random.${fn}: key must be a uint32 array of shape [2] (from random.key or random.split), got ${typeof key}`);
  if (key.dtype !== "uint32" || !shapeEq(key.shape, [2])) {
    const batched = key.dtype === "uint32" && key.ndim >= 2 && key.shape[key.ndim - 1] === 2;
    throw new Error(
      `random.${fn}: key must be a uint32 array of shape [2] (from random.key or random.split), got ${fmtAval(key.aval)}` +
        (batched ? "; to use a batch of keys, vmap over it (e.g. vmap((k) => random.normal(k, shape))(keys))" : ""),
    );
  }
  return key;
}

function checkDrawShape(fn: string, shape: unknown, ...paramShapes: (readonly number[])[]): number[] {
  const s = checkShape(`random.${fn}`, shape);
  for (const p of paramShapes) {
    const off = s.length - p.length;
    if (off < 0 || p.some((d, i) => d !== 1 && d !== s[off + i])) {
      throw new Error(`random.${fn}: a parameter of shape ${fmtShape(p)} does not broadcast to the requested shape ${fmtShape(s)}`);
    }
  }
  return s;
}

function keyWords(key: Tracer): [Tracer, Tracer] {
  return [reshape(slice(key, [0], [1]), []), reshape(slice(key, [1], [2]), [])];
}

/** The row-major flat index of each element of `shape`, a 64-bit iota split into (hi, lo) uint32 words. */
function iota2x32(shape: readonly number[]): [Tracer, Tracer] {
  const n = sizeOf(shape);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    lo[i] = i % 2 ** 32;
    hi[i] = Math.floor(i / 2 ** 32);
  }
  return [fromTyped(hi, shape, "uint32"), fromTyped(lo, shape, "uint32")];
}

/** Makes the rows of a [n, 2] key array iterable, without changing the array itself. */
function withRows(keys: Tracer): KeyArray {
  const n = keys.shape[0];
  Object.defineProperty(keys, Symbol.iterator, {
    configurable: true,
    value: function* () {
      for (let i = 0; i < n; i++) yield reshape(slice(keys, [i, 0], [i + 1, 2]), [2]);
    },
  });
  return keys as KeyArray;
}

/**
 * A key from an integer seed (a JS integer in [-2^31, 2^53), or an integer scalar array).
 * @example random.key(42) // uint32 [0, 42]
 */
export function key(seed: number | Tracer): Tracer {
  if (seed instanceof Tracer) {
    if (seed.ndim !== 0 || !isInt(seed.dtype)) throw new Error(`random.key: seed must be an integer scalar, got ${fmtAval(seed.aval)}`);
    // A 32-bit seed has no high word (JAX: shift_right_logical(seed, 32) = 0 for int32).
    return np.stack([scalar(0, "uint32"), ew.convertElementType(seed, "uint32")]);
  }
  if (!Number.isSafeInteger(seed) || seed < -(2 ** 31)) throw new Error(`random.key: seed must be an integer in [-2^31, 2^53), got ${seed}`);
  const hi = seed < 0 ? 0 : Math.floor(seed / 2 ** 32);
  return fromTyped(new Uint32Array([hi, seed >>> 0]), [2], "uint32");
}

/**
 * `n` new keys, statistically independent of `key` and of each other, as an array of shape
 * [n, 2]. The result also iterates over its rows, so it destructures into separate keys:
 * JAX's shape for `vmap` over keys and `keys.slice(i)`, with `const [a, b] = split(k)` too.
 * (Only the returned array is iterable; the same keys coming out of jit or vmap are plain arrays.)
 * @example const [k1, k2, k3] = random.split(random.key(0), 3)
 */
export function split(key: Tracer, n = 2): KeyArray {
  const k = checkKey("split", key);
  if (!Number.isInteger(n) || n < 0) throw new Error(`random.split: n must be a non-negative integer, got ${n}`);
  checkAddressable("random.split", [n, 2]);
  const [k0, k1] = keyWords(k);
  const [hi, lo] = iota2x32([n]);
  const [y0, y1] = threefry2x32(k0, k1, hi, lo);
  return withRows(np.stack([y0, y1], { axis: 1 }));
}

/**
 * A new key derived from `key` and an integer (taken mod 2^32), e.g. a step or example index.
 * @example const stepKey = random.foldIn(key, step)
 */
export function foldIn(key: Tracer, data: number | Tracer): Tracer {
  const k = checkKey("foldIn", key);
  let d: Tracer;
  if (data instanceof Tracer) {
    if (data.ndim !== 0 || !isInt(data.dtype)) throw new Error(`random.foldIn: data must be an integer scalar, got ${fmtAval(data.aval)}`);
    d = ew.convertElementType(data, "uint32");
  } else {
    if (!Number.isInteger(data)) throw new Error(`random.foldIn: data must be an integer, got ${data}`);
    d = scalar(data >>> 0, "uint32");
  }
  const [k0, k1] = keyWords(k);
  const [y0, y1] = threefry2x32(k0, k1, scalar(0, "uint32"), d);
  return np.stack([y0, y1]);
}

/**
 * Uniformly random uint32 bits of the given shape (JAX's random.bits).
 * @example random.bits(random.key(0), [4]) // uint32 [4]
 */
export function bits(key: Tracer, shape: number[] = []): Tracer {
  const k = checkKey("bits", key);
  const s = checkDrawShape("bits", shape);
  const [k0, k1] = keyWords(k);
  const [hi, lo] = iota2x32(s);
  const [y0, y1] = threefry2x32(k0, k1, hi, lo);
  return ew.xor(y0, y1);
}

export interface UniformOpts {
  /** Lower bound (inclusive), a number or an array broadcasting to the shape. Default 0. */
  minval?: ArrayLike;
  /** Upper bound (exclusive), a number or an array broadcasting to the shape. Default 1. */
  maxval?: ArrayLike;
  /** float32 (default) or float64. float64 draws the float32 value and widens it (23 random bits). */
  dtype?: DType;
}

/** `f(key, shape, "float64")` or `f(key, shape, { dtype })` (normal, gumbel): JAX's positional dtype. */
const dtypeOptions = (fn: string, arg: unknown) => optionsOf<{ dtype?: DType }>(`random.${fn}`, arg, ["dtype"], DTYPE);

/** A bound given positionally: a number, a JS list of numbers or an array (not a dtype, not options). */
const isBound = (v: unknown) => typeof v === "number" || Array.isArray(v) || v instanceof Tracer;

/**
 * uniform's arguments after the shape, in the three forms users write: JAX's
 * `(dtype, minval, maxval)`, jax-js / the issue's `(minval, maxval, { dtype })`, and `{ minval, maxval, dtype }`.
 */
function uniformOptions(a: unknown, b: unknown, c: unknown): UniformOpts {
  const op = "random.uniform";
  const keys = ["minval", "maxval", "dtype"];
  if (typeof a === "string") {
    for (const [name, v] of [
      ["minval", b],
      ["maxval", c],
    ] as const) {
      if (v !== undefined && !isBound(v)) throw new Error(`${op}: ${name} must be a number or an array, got ${describeArg(v)}`);
    }
    return { dtype: a as DType, ...(b !== undefined && { minval: b as ArrayLike }), ...(c !== undefined && { maxval: c as ArrayLike }) };
  }
  if (isBound(a)) {
    if (b !== undefined && !isBound(b)) throw new Error(`${op}: maxval must be a number or an array, got ${describeArg(b)}`);
    const rest = optionsOf<UniformOpts>(op, c, ["dtype"], DTYPE);
    return { ...rest, minval: a as ArrayLike, ...(b !== undefined && { maxval: b as ArrayLike }) };
  }
  if (a !== undefined && !isPlainObject(a)) throw new Error(`${op}: expected minval (a number or an array), a dtype, or an options object {${keys.join(", ")}}, got ${describeArg(a)}`);
  if (b !== undefined || c !== undefined) throw new Error(`${op}: nothing may follow the options object, got ${describeArg(b ?? c)}`);
  return optionsOf<UniformOpts>(op, a, keys);
}

function floatDtype(fn: string, dtype: DType | undefined): DType {
  const d = dtype ?? "float32";
  if (!isFloat(d)) throw new Error(`random.${fn}: dtype must be float32 or float64, got ${d}`);
  return d;
}

/**
 * Uniform floats in [minval, maxval). Differentiable in minval and maxval (the
 * reparametrisation u * (maxval - minval) + minval), which may be arrays. As in JAX, only
 * the lower bound is clamped: when |minval| is much larger than maxval - minval, float
 * rounding can return maxval itself.
 * Called as `uniform(key, shape, minval, maxval)`, as JAX's `uniform(key, shape, dtype, minval,
 * maxval)`, or with an options object.
 * @example random.uniform(key, [2, 3], { minval: -1, maxval: 1 }) // or random.uniform(key, [2, 3], -1, 1)
 */
export function uniform(key: Tracer, shape: number[] = [], minvalOrOpts?: ArrayLike | DType | UniformOpts, maxval?: ArrayLike, dtypeOrOpts?: DType | { dtype?: DType }): Tracer {
  const opts = uniformOptions(minvalOrOpts, maxval, dtypeOrOpts);
  const dtype = floatDtype("uniform", opts.dtype);
  const k = checkKey("uniform", key);
  const minval = np.astype(asArray(opts.minval ?? 0, dtype), dtype);
  const hi = np.astype(asArray(opts.maxval ?? 1, dtype), dtype);
  const s = checkDrawShape("uniform", shape, minval.shape, hi.shape);
  const b = bits(k, s);
  // The top 23 bits become the mantissa of a float in [1, 2); subtracting 1 leaves [0, 1).
  const mantissa = ew.or(ew.shiftRightLogical(b, np.fullLike(b, 9)), np.fullLike(b, 0x3f800000));
  let floats = np.sub(ew.bitcastConvertType(mantissa, "float32"), 1);
  if (dtype === "float64") floats = np.astype(floats, "float64");
  const scaled = np.add(np.mul(floats, np.sub(hi, minval)), minval);
  // Rounding can never go below minval, but JAX clamps anyway; keeping it keeps the bits equal.
  return np.maximum(minval, scaled);
}

/**
 * Standard normal samples: sqrt(2) * erfInv(u), u uniform in (-1, 1).
 * @example random.normal(key, [3]).mul(sigma).add(mu)
 */
export function normal(key: Tracer, shape: number[] = [], dtypeOrOpts?: DType | { dtype?: DType }): Tracer {
  const dtype = floatDtype("normal", dtypeOptions("normal", dtypeOrOpts).dtype);
  checkKey("normal", key);
  checkDrawShape("normal", shape);
  // nextafter(-1, 0) in the dtype keeps erfInv finite.
  const lo = dtype === "float32" ? -1 + 2 ** -24 : -1 + 2 ** -53;
  const u = uniform(key, shape, { minval: lo, maxval: 1, dtype });
  return np.mul(np.erfInv(u), Math.SQRT2);
}

/**
 * Booleans that are true with probability p (a number or array broadcasting to shape).
 * @example random.bernoulli(key, 0.3, [10])
 */
export function bernoulli(key: Tracer, p: ArrayLike = 0.5, shape?: number[]): Tracer {
  checkKey("bernoulli", key);
  let pa = asArray(p);
  if (!isFloat(pa.dtype)) pa = np.astype(pa, "float32");
  const s = checkDrawShape("bernoulli", shape ?? pa.shape, pa.shape);
  return np.less(uniform(key, s, { dtype: pa.dtype }), pa);
}

/**
 * Standard Gumbel samples, -log(-log(u)) with u uniform in [tiny, 1).
 * @example random.gumbel(key, [5])
 */
export function gumbel(key: Tracer, shape: number[] = [], dtypeOrOpts?: DType | { dtype?: DType }): Tracer {
  const dtype = floatDtype("gumbel", dtypeOptions("gumbel", dtypeOrOpts).dtype);
  checkKey("gumbel", key);
  checkDrawShape("gumbel", shape);
  // The smallest normal float of the dtype (finfo.tiny) keeps log(u) finite.
  const tiny = dtype === "float32" ? 2 ** -126 : 2 ** -1022;
  return np.neg(np.log(np.neg(np.log(uniform(key, shape, { minval: tiny, maxval: 1, dtype })))));
}

/**
 * Samples category indices (int32) from unnormalised log-probabilities along `axis`
 * (the Gumbel-max trick). `shape` defaults to the logits' shape without `axis`; extra
 * leading dimensions draw independent samples.
 * @example random.categorical(key, np.log(np.array([0.2, 0.8])), { shape: [1000] })
 */
export function categorical(key: Tracer, logits: ArrayLike, axisOrOpts?: number | { axis?: number; shape?: number[] }, shape?: number[]): Tracer {
  // JAX's positional form is categorical(key, logits, axis, shape).
  const opts = optionsOf<{ axis?: number; shape?: number[] }>("random.categorical", axisOrOpts, ["axis", "shape"], AXIS, shape === undefined ? undefined : { shape });
  checkKey("categorical", key);
  let l = asArray(logits);
  if (!isFloat(l.dtype)) l = np.astype(l, "float32");
  if (l.ndim === 0) throw new Error(`random.categorical: logits must have at least one axis (the categories), got shape []`);
  const ax = normalizeAxis("random.categorical", opts.axis ?? -1, l.ndim);
  const batchShape = l.shape.filter((_, i) => i !== ax);
  const s = checkDrawShape("categorical", opts.shape ?? batchShape, batchShape);
  const prefix = s.slice(0, s.length - batchShape.length);
  const drawShape = s.slice(s.length - batchShape.length);
  drawShape.splice(ax, 0, l.shape[ax]);
  const g = gumbel(key, [...prefix, ...drawShape], { dtype: l.dtype });
  const lb = np.reshape(l, [...prefix.map(() => 1), ...l.shape]);
  return np.argmax(np.add(g, lb), { axis: prefix.length + ax });
}

function intBound(name: string, v: ArrayLike, dtype: DType): Tracer {
  if (typeof v === "number") {
    const [lo, hi] = dtype === "int32" ? [-(2 ** 31), 2 ** 31 - 1] : [0, 2 ** 32 - 1];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`random.randint: ${name} ${v} is not an integer in the ${dtype} range [${lo}, ${hi}]`);
    return scalar(v, dtype);
  }
  const a = asArray(v);
  if (!isInt(a.dtype)) throw new Error(`random.randint: ${name} must be an integer array, got ${fmtAval(a.aval)}`);
  return ew.convertElementType(a, dtype);
}

/**
 * Uniform integers in [minval, maxval) (int32 by default). As JAX: two 32-bit draws combined
 * modulo the span, which keeps the bias tiny for any span; maxval <= minval gives minval.
 * @example random.randint(key, [3], 0, 10) // int32 in 0..9
 */
export function randint(key: Tracer, shape: number[], minval: ArrayLike, maxval: ArrayLike, dtypeOrOpts?: DType | { dtype?: DType }): Tracer {
  const dtype = dtypeOptions("randint", dtypeOrOpts).dtype ?? "int32";
  if (dtype !== "int32" && dtype !== "uint32") throw new Error(`random.randint: dtype must be int32 or uint32, got ${dtype}`);
  const [k1, k2] = split(checkKey("randint", key));
  const lo0 = intBound("minval", minval, dtype);
  const hi0 = intBound("maxval", maxval, dtype);
  const s = checkDrawShape("randint", shape, lo0.shape, hi0.shape);
  const lo = np.broadcastTo(lo0, s);
  const hi = np.broadcastTo(hi0, s);
  const higher = bits(k1, s);
  const lower = bits(k2, s);
  // All of this is uint32 arithmetic modulo 2^32 (mul is Math.imul, add wraps on store).
  let span = ew.convertElementType(ew.sub(hi, lo), "uint32");
  span = ew.select(ew.le(hi, lo), np.fullLike(span, 1), span);
  // (higher * 2^32 + lower) mod span, with 2^32 mod span = (2^16 mod span)^2 mod span.
  let multiplier = ew.rem(np.fullLike(span, 2 ** 16), span);
  multiplier = ew.rem(ew.mul(multiplier, multiplier), span);
  let offset = ew.add(ew.mul(ew.rem(higher, span), multiplier), ew.rem(lower, span));
  offset = ew.rem(offset, span);
  return ew.add(lo, ew.convertElementType(offset, dtype));
}

/** JAX's _shuffle: a few rounds of stably sorting by fresh random 32-bit keys. */
function shuffle(key: Tracer, x: Tracer, axis: number): Tracer {
  // Enough rounds that colliding sort keys (which would keep their order) are unlikely.
  const rounds = Math.ceil((3 * Math.log(Math.max(1, x.size))) / Math.log(2 ** 32 - 1));
  let k = key;
  for (let r = 0; r < rounds; r++) {
    const [next, sub] = split(k);
    k = next;
    const perm = argsort(bits(sub, x.shape), axis);
    x = np.takeAlongAxis(x, perm, { axis, mode: "clip" });
  }
  return x;
}

/**
 * A random permutation of 0..n-1 (int32), or of an array's entries along `axis`.
 * With `independent`, each slice along `axis` is shuffled separately.
 * @example random.permutation(key, 5) // e.g. [3, 0, 4, 1, 2]
 */
export function permutation(key: Tracer, x: number | ArrayLike, axisOrOpts?: number | { axis?: number; independent?: boolean }, rest?: { independent?: boolean }): Tracer {
  const opts = optionsOf<{ axis?: number; independent?: boolean }>("random.permutation", axisOrOpts, ["axis", "independent"], AXIS, rest);
  const k = checkKey("permutation", key);
  if (typeof x === "number") {
    if (!Number.isInteger(x) || x < 0) throw new Error(`random.permutation: n must be a non-negative integer, got ${x}`);
    return shuffle(k, np.arange(x), 0);
  }
  const a = asArray(x);
  if (a.ndim === 0) throw new Error(`random.permutation: x must be a number n or an array of rank >= 1, got shape []`);
  const axis = normalizeAxis("random.permutation", opts.axis ?? 0, a.ndim);
  if (opts.independent || a.ndim === 1) return shuffle(k, a, axis);
  return np.take(a, shuffle(k, np.arange(a.shape[axis]), 0), { axis, mode: "clip" });
}

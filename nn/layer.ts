/**
 * Layers are pairs of pure functions over parameter pytrees:
 * `init(key, inputShape) -> { params, state, outputShape }` and
 * `apply(params, state, x, { train, key }) -> { y, state }`. Shapes include the batch axis.
 */
import type { Tracer } from "../index.ts";
import { np, random } from "../index.ts";
import { checkOptions } from "../core/options.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a layer's parameters are whatever pytree its init returns; callers read fields (`params.w`) that `unknown` would hide
export type Params = any;

/** Checks a layer's apply options (`{ train, key }`): a misspelt `trian` would silently evaluate. */
export function checkApplyOptions(layer: string, opts: unknown): void {
  checkOptions(`nn.${layer}.apply`, opts, ["train", "key"]);
}

export interface ApplyOpts {
  /** Training mode: batch statistics in batchNorm, active dropout. Default false. */
  train?: boolean;
  /** Randomness for dropout; required when training a network with dropout. */
  key?: Tracer;
}

export interface InitResult {
  params: Params;
  state: Params;
  outputShape: number[];
}

export interface Layer {
  readonly name: string;
  init(key: Tracer, inputShape: number[]): InitResult;
  apply(params: Params, state: Params, x: Tracer, opts?: ApplyOpts): { y: Tracer; state: Params };
}

/** A layer without parameters or state. */
export function stateless(name: string, fn: (x: Tracer) => Tracer, outShape: (s: number[]) => number[] = (s) => s): Layer {
  return {
    name,
    init: (_key, inputShape) => ({ params: null, state: null, outputShape: outShape(inputShape) }),
    apply: (_p, state, x, opts) => {
      checkApplyOptions(name, opts);
      return { y: fn(x), state };
    },
  };
}

/**
 * Rectified linear unit, as torch.relu: x where x > 0, else 0; NaN passes through, and the
 * gradient at 0 is 0 (one comparison and one select backwards, where np.maximum's splits ties).
 */
export const relu = (): Layer => stateless("relu", (x) => np.where(x.lessEqual(0), 0, x));

/** max(x, slope * x). */
export const leakyRelu = (slope = 0.01): Layer => {
  if (typeof slope !== "number") throw new Error(`nn.leakyRelu: slope must be a number, got ${JSON.stringify(slope)}`);
  return stateless("leakyRelu", (x) => np.where(x.greater(0), x, x.mul(slope)));
};

/** GELU, exact (erf) form as PyTorch's default. */
export const gelu = (): Layer => stateless("gelu", (x) => x.mul(np.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5));

/** Flattens all axes after the batch axis. */
export const flatten = (): Layer =>
  stateless(
    "flatten",
    (x) => x.reshape([x.shape[0], -1]),
    (s) => [s[0], s.slice(1).reduce((a, b) => a * b, 1)],
  );

/** Splits a key into n keys as a JS array. */
export function splitKeys(key: Tracer, n: number): Tracer[] {
  if (n === 0) return [];
  const keys = random.split(key, n) as unknown;
  if (Array.isArray(keys)) return keys as Tracer[];
  const k = keys as Tracer;
  return Array.from({ length: n }, (_, i) => k.slice(i));
}

/**
 * Layers applied in order; params and state are arrays with one entry per layer.
 * @example const net = nn.sequential(nn.dense(32), nn.relu(), nn.dense(10));
 */
export function sequential(...layers: Layer[]): Layer {
  return {
    name: `sequential(${layers.map((l) => l.name).join(", ")})`,
    init(key, inputShape) {
      const keys = splitKeys(key, layers.length);
      const params: Params[] = [];
      const state: Params[] = [];
      let shape = inputShape;
      layers.forEach((l, i) => {
        const r = l.init(keys[i], shape);
        params.push(r.params);
        state.push(r.state);
        shape = r.outputShape;
      });
      return { params, state, outputShape: shape };
    },
    apply(params, state, x, opts = {}) {
      checkApplyOptions("sequential", opts);
      if (!Array.isArray(params) || params.length !== layers.length) {
        throw new Error(`sequential: expected params as an array of ${layers.length} entries (one per layer), got ${Array.isArray(params) ? params.length : typeof params}`);
      }
      const keys = opts.train && opts.key ? splitKeys(opts.key, layers.length) : [];
      const newState: Params[] = [];
      let y = x;
      layers.forEach((l, i) => {
        const r = l.apply(params[i], state?.[i] ?? null, y, { train: opts.train, key: keys[i] });
        y = r.y;
        newState.push(r.state);
      });
      return { y, state: newState };
    },
  };
}

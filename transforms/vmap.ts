/** Batching: each tracer carries a value and the axis (or null) along which it is mapped. */
import { asArray } from "../core/convert.ts";
import type { Params, Primitive } from "../core/primitive.ts";
import { fmtShape, normalizeAxis } from "../core/shape.ts";
import { bind, fullRaise, Trace, withNewMain } from "../core/trace.ts";
import { Tracer, type ShapedArray } from "../core/tracer.ts";
import { broadcastPrefix, flatten, unflatten, type PyTree } from "../core/tree.ts";
import { bdimToFront, concatenate, moveaxis, reshape, slice } from "../core/primitives/shape.ts";
import { broadcastTo } from "../core/np/math.ts";
import { flatOutputs } from "./jvp.ts";
import { IN_AXES, optionsOf } from "../core/options.ts";

export class BatchTracer extends Tracer {
  constructor(
    private readonly _trace: BatchTrace,
    readonly val: Tracer,
    readonly bdim: number | null,
  ) {
    super();
  }
  get aval(): ShapedArray {
    const a = this.val.aval;
    if (this.bdim === null) return a;
    return { shape: a.shape.filter((_, i) => i !== this.bdim), dtype: a.dtype };
  }
  override get trace(): BatchTrace {
    return this._trace;
  }
  override fullLower(): Tracer {
    return this.bdim === null ? this.val.fullLower() : this;
  }
}

export class BatchTrace extends Trace {
  get axisSize(): number {
    return (this.main.globalData as { axisSize: number }).axisSize;
  }
  pure(val: Tracer): Tracer {
    return new BatchTracer(this, val, null);
  }
  lift(val: Tracer): Tracer {
    return new BatchTracer(this, val, null);
  }
  processPrimitive(prim: Primitive, tracers: Tracer[], params: Params): Tracer[] {
    const ts = tracers as BatchTracer[];
    const vals = ts.map((t) => t.val);
    const dims = ts.map((t) => t.bdim);
    if (dims.every((d) => d === null)) return bind(prim, vals, params).map((o) => new BatchTracer(this, o, null));
    if (!prim.batch) {
      if (prim.inline) return prim.inline(tracers, params);
      return loopFallback(prim, vals, dims, params, this.axisSize).map((o) => new BatchTracer(this, o, 0));
    }
    const [outs, outDims] = prim.batch(vals, dims, params, this.axisSize);
    return outs.map((o, i) => new BatchTracer(this, o, outDims[i]));
  }
}

/** For primitives without a batching rule: apply once per batch element and stack. */
function loopFallback(prim: Primitive, vals: Tracer[], dims: (number | null)[], params: Params, size: number): Tracer[] {
  const per: Tracer[][] = [];
  for (let b = 0; b < size; b++) {
    const args = vals.map((v, i) => {
      if (dims[i] === null) return v;
      const x = bdimToFront(v, dims[i], size);
      const s = slice(
        x,
        x.shape.map((_, k) => (k === 0 ? b : 0)),
        x.shape.map((n, k) => (k === 0 ? b + 1 : n)),
      );
      return reshape(s, x.shape.slice(1));
    });
    per.push(bind(prim, args, params));
  }
  return per[0].map((_, j) =>
    concatenate(
      per.map((outs) => reshape(outs[j], [1, ...outs[j].shape])),
      0,
    ),
  );
}

export interface VmapOpts {
  /** Per argument (a number, null, or a pytree prefix of the arguments): the mapped axis. Default 0. */
  inAxes?: PyTree<number | null> | number | null;
  /** Per output (a pytree prefix): where the mapped axis goes. Default 0. */
  outAxes?: PyTree<number | null> | number | null;
  /** The batch size when no argument is mapped. */
  axisSize?: number;
}

/**
 * Vectorising map: f over a leading (or chosen) axis of its arguments, run as one batched program.
 * Called as JAX's `vmap(f, inAxes, outAxes)` or with `{ inAxes, outAxes, axisSize }`.
 * @example vmap((x) => np.dot(x, w))(xs) // one dot per row of xs
 * @example vmap((x, w) => np.dot(x, w), [0, null])(xs, w) // w is shared
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a user's callback gets `any` parameters from this signature; `never` or `unknown` would reject `(x) => x.mul(2)`
export function vmap(f: (...args: any[]) => any, inAxesOrOpts?: VmapOpts["inAxes"] | VmapOpts, outAxes?: VmapOpts["outAxes"]) {
  const opts = optionsOf<VmapOpts>("vmap", inAxesOrOpts, ["inAxes", "outAxes", "axisSize"], IN_AXES, outAxes === undefined ? undefined : { outAxes });
  if (typeof f !== "function") throw new Error(`vmap: expected a function to map, got ${typeof f}`);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the mapped function takes and returns whatever pytrees f does, which its type does not say
  return (...args: any[]): any => {
    const inAxesTree = opts.inAxes === undefined ? 0 : opts.inAxes;
    const prefix = typeof inAxesTree === "number" || inAxesTree === null ? args.map(() => inAxesTree) : inAxesTree;
    if (Array.isArray(prefix) && prefix.length !== args.length) {
      throw new Error(`vmap: inAxes has ${prefix.length} entries but the function got ${args.length} arguments`);
    }
    const axes = broadcastPrefix<number | null>(prefix as PyTree<number | null>, args, "vmap inAxes");
    const [leaves, def] = flatten(args);
    const xs = leaves.map((l) => asArray(l as never));
    const normAxes = xs.map((x, i) => (axes[i] === null ? null : normalizeAxis("vmap", axes[i] as number, x.ndim)));
    let size: number | undefined = opts.axisSize;
    xs.forEach((x, i) => {
      const a = normAxes[i];
      if (a === null) return;
      if (size === undefined) size = x.shape[a];
      else if (x.shape[a] !== size) {
        const desc = xs.map((y, j) => (normAxes[j] === null ? null : `leaf ${j} ${fmtShape(y.shape)} axis ${normAxes[j]} -> ${y.shape[normAxes[j]!]}`)).filter(Boolean);
        throw new Error(`vmap: mapped axes have inconsistent sizes (${desc.join("; ")}); every mapped argument needs the same size along its inAxes`);
      }
    });
    if (size === undefined) throw new Error("vmap: no argument is mapped (inAxes are all null); map at least one argument or pass axisSize");
    return withNewMain(BatchTrace, { axisSize: size }, (main) => {
      const trace = new BatchTrace(main);
      const ins = xs.map((x, i) => (normAxes[i] === null ? x : new BatchTracer(trace, x, normAxes[i])));
      const [outs, outDef] = flatOutputs(f(...(unflatten(def, ins) as unknown[])), "vmap");
      const outAxesTree = opts.outAxes === undefined ? 0 : opts.outAxes;
      const outAxes = broadcastPrefix<number | null>(outAxesTree, unflatten(outDef, outs), "vmap outAxes");
      const results = outs.map((o, i) => {
        const t = fullRaise(trace, o) as BatchTracer;
        const want = outAxes[i];
        if (want === null) {
          if (t.bdim !== null) throw new Error(`vmap: output ${i} is mapped, but its outAxes entry is null`);
          return t.val;
        }
        const x = t.bdim === null ? broadcastTo(t.val, [size!, ...t.val.shape]) : t.val;
        return moveaxis(x, t.bdim ?? 0, normalizeAxis("vmap outAxes", want, x.ndim));
      });
      return unflatten(outDef, results);
    });
  };
}

/**
 * scan: a loop primitive whose body is a jaxpr traced once, so a program's size does not
 * depend on the trip count. Operands are (consts..., carry..., xs...); the body maps
 * (consts..., carry..., x...) to (carry..., y...), and the ys are stacked along a new
 * leading axis. forLoop and foriLoop are scans with a counter in the carry.
 */
import type { ClosedJaxpr } from "../jaxpr.ts";
import { definePrimitive, isZeroTangent, UndefinedPrimal, type Primitive } from "../primitive.ts";
import { bind } from "../trace.ts";
import { Tracer, type ShapedArray } from "../tracer.ts";
import { traceToJaxpr, Jaxpr } from "../jaxpr.ts";
import { zeros } from "../np/creation.ts";
import { concatenate, moveaxis, reshape, broadcastInDim } from "../primitives/shape.ts";
import { take, takeP } from "../primitives/gather.ts";
import type { Handle } from "../backend.ts";
import { eagerKernel } from "../compiler/eager.ts";
import { NDArray } from "../array.ts";
import { add, lt } from "../primitives/elementwise.ts";
import { scalar } from "../array.ts";
import { asArray } from "../convert.ts";
import { checkOptions } from "../options.ts";
import { unflatten, type TreeDef } from "../tree.ts";
import { whileLoop } from "./while.ts";
import { batchJaxpr, bodyOnHandles, callBody, cached, fmtAvals, leavesOf, linearizeJaxpr, nonzeroOutputs, ownArray, runBody, stageBody, transposeJaxpr } from "./jaxprs.ts";

export interface ScanParams {
  body: ClosedJaxpr;
  numConsts: number;
  numCarry: number;
  length: number;
  reverse: boolean;
  /** Operands the loop is linear in (a linearisation's tangent loop); its transpose reads the others as known values. */
  linear?: boolean[];
}

const sameAval = (a: ShapedArray, b: ShapedArray) => a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((n, i) => n === b.shape[i]);
const stackedAval = (a: ShapedArray, n: number): ShapedArray => ({ shape: [n, ...a.shape], dtype: a.dtype });

export const scanP: Primitive<ScanParams> = definePrimitive<ScanParams>({
  name: "scan",
  abstractEval(avals, params) {
    const { body, numConsts: nC, numCarry: nK, length } = params;
    const ins = body.jaxpr.inAvals;
    if (avals.length !== ins.length) throw new Error(`scan: ${avals.length} operands for a body of ${ins.length} inputs`);
    avals.forEach((a, i) => {
      const want = i < nC + nK ? ins[i] : stackedAval(ins[i], length);
      if (!sameAval(a, want)) throw new Error(`scan: operand ${i} is ${fmtAvals([a])} but the body expects ${fmtAvals([want])}`);
    });
    const outs = body.jaxpr.outAvals;
    return outs.map((a, i) => (i < nK ? a : stackedAval(a, length)));
  },
  evaluate: runScan,
  jvp: scanJvp,
  transpose: scanTranspose,
  batch(vals, dims, p, size) {
    const { numConsts: nC, numCarry: nK } = p;
    const inB = dims.map((d) => d !== null);
    let carryB = inB.slice(nC, nC + nK);
    let batched: ReturnType<typeof batchJaxpr>;
    for (;;) {
      batched = batchJaxpr(p.body, size, [...inB.slice(0, nC), ...carryB, ...inB.slice(nC + nK)], [...carryB, ...p.body.jaxpr.outs.slice(nK).map(() => false)]);
      const next = carryB.map((b, i) => b || batched.outBatched[i]);
      if (next.every((b, i) => b === carryB[i])) break;
      carryB = next;
    }
    const ops = vals.map((v, i) => {
      const d = dims[i];
      if (i < nC) return d === null ? v : moveaxis(v, d, 0);
      if (i < nC + nK) {
        if (!carryB[i - nC]) return v;
        return d === null
          ? broadcastInDim(
              v,
              [size, ...v.shape],
              v.shape.map((_, k) => k + 1),
            )
          : moveaxis(v, d, 0);
      }
      // The loop runs over axis 0 of xs, so the batch axis goes second.
      return d === null ? v : moveaxis(v, d, 1);
    });
    const outs = bind(scanP, ops, { ...p, body: batched!.body });
    return [outs, batched!.outBatched.map((b, i) => (!b ? null : i < nK ? 0 : 1))];
  },
  printParams: (p) => `length=${p.length} reverse=${p.reverse} consts=${p.numConsts} carry=${p.numCarry}${p.linear ? " linear" : ""}`,
});

/** Counters for tests and the docs: steps run by scan loops on the host. */
export const scanStats = { steps: 0 };

/**
 * Row i of x along axis 0, by a gather whose index is data: one kernel for every step (a
 * slice would bake i into its kernel, and WebGPU would build a pipeline per step).
 */
function rowOf(x: Tracer, i: number): Tracer {
  const idx = scalar(i, "int32", (x as NDArray).backend);
  const row = take(x, idx, 0);
  idx.dispose();
  return row;
}

/** Stacks arrays along a new axis 0, a few dozen at a time (one concatenate of 100,000 pieces would be its own problem). */
function stack(pieces: Tracer[]): Tracer {
  const CHUNK = 32;
  let level = pieces.map((p) => reshape(p, [1, ...p.shape]));
  while (level.length > 1) {
    const next: Tracer[] = [];
    for (let k = 0; k < level.length; k += CHUNK) next.push(concatenate(level.slice(k, k + CHUNK), 0));
    // Views and partial stacks die here; the pieces themselves are the caller's to free.
    for (const t of level) if (!next.includes(t)) t.dispose();
    level = next;
  }
  return level[0];
}

/** The loop on the host: each step runs the body's compiled program; a device keeps its queue (no reads). */
function runScan(args: Tracer[], p: ScanParams): Tracer[] {
  const onHandles = bodyOnHandles(p.body, args);
  if (onHandles) return runScanOnHandles(args, p, onHandles);
  const { body, numConsts: nC, numCarry: nK, length: n, reverse } = p;
  const consts = args.slice(0, nC);
  let carry = args.slice(nC, nC + nK);
  const xs = args.slice(nC + nK);
  const yAvals = body.jaxpr.outAvals.slice(nK);
  const pieces: Tracer[][] = yAvals.map(() => new Array<Tracer>(n));
  const owned = new Set<Tracer>(args);
  const kept = new Set<Tracer>();
  for (let k = 0; k < n; k++) {
    const i = reverse ? n - 1 - k : k;
    const xi = xs.map((x) => rowOf(x, i));
    const outs = runBody(body, [...consts, ...carry, ...xi]);
    scanStats.steps++;
    const live = new Set(outs);
    for (const x of xi) if (!live.has(x) && !owned.has(x)) x.dispose();
    for (const c of carry) if (!live.has(c) && !owned.has(c) && !kept.has(c)) c.dispose();
    carry = outs.slice(0, nK);
    outs.slice(nK).forEach((y, j) => {
      pieces[j][i] = y;
      kept.add(y);
    });
  }
  const ys = pieces.map((ps, j) => (n === 0 ? zeros([0, ...yAvals[j].shape], { dtype: yAvals[j].dtype }) : stack(ps)));
  // A piece may sit in several outputs (a body returning one value twice): free them after all are stacked.
  const carried = new Set(carry);
  for (const y of kept) if (!owned.has(y) && !carried.has(y)) y.dispose();
  return [...carry, ...ys].map((o) => ownArray(o, owned));
}

/** runScan on buffer handles: no array objects per step, dead buffers back to the backend at once. */
function runScanOnHandles(args: Tracer[], p: ScanParams, { backend, run, consts }: NonNullable<ReturnType<typeof bodyOnHandles>>): Tracer[] {
  const { body, numConsts: nC, numCarry: nK, length: n, reverse } = p;
  const arrays = args as NDArray[];
  const constH = [...consts, ...arrays.slice(0, nC).map((a) => a.handle)];
  const xs = arrays.slice(nC + nK);
  const index: ShapedArray = { shape: [], dtype: "int32" };
  const rowAvals = xs.map((x) => ({ shape: x.shape.slice(1), dtype: x.dtype }));
  const outAvals = body.jaxpr.outAvals;
  const rowKernels = xs.map((x, j) => eagerKernel(takeP, [x.aval, index], { axis: 0 }, [rowAvals[j]]));
  let carry = arrays.slice(nC, nC + nK).map((a) => a.handle);
  const pieces: Handle[][] = outAvals.slice(nK).map(() => new Array<Handle>(n));
  for (let k = 0; k < n; k++) {
    const i = reverse ? n - 1 - k : k;
    const idx = xs.length > 0 ? backend.upload(Int32Array.of(i), "int32") : null;
    // The row is a gather at a data index: one kernel for every step (a slice would bake the index in).
    const rows = xs.map((x, j) =>
      backend.runKernel!(
        rowKernels[j].kernel,
        rowKernels[j].order.map((o) => [x.handle, idx][o]),
        "scan",
      ),
    );
    if (idx !== null) backend.free(idx, index);
    const outs = run([...constH, ...carry, ...rows]);
    scanStats.steps++;
    rows.forEach((r, j) => backend.free(r, rowAvals[j]));
    if (k > 0) carry.forEach((c, j) => backend.free(c, outAvals[j]));
    carry = outs.slice(0, nK);
    outs.slice(nK).forEach((y, j) => (pieces[j][i] = y));
  }
  const wrap = (h: Handle, a: ShapedArray) => new NDArray(a, backend, h);
  const carryOut = n === 0 ? arrays.slice(nC, nC + nK).map((a) => ownArray(a, new Set([a]))) : carry.map((h, j) => wrap(h, outAvals[j]));
  const ys = pieces.map((ps, j) => {
    const a = outAvals[nK + j];
    if (n === 0) return zeros([0, ...a.shape], { dtype: a.dtype });
    const parts = ps.map((h) => wrap(h, a));
    const out = stack(parts);
    for (const part of parts) part.dispose();
    return out;
  });
  return [...carryOut, ...ys];
}

function scanJvp(primals: Tracer[], tangents: Tracer[], p: ScanParams): [Tracer[], (Tracer | null)[]] {
  const { body, numConsts: nC, numCarry: nK } = p;
  const given = tangents.map((t) => !isZeroTangent(t));
  const nX = primals.length - nC - nK;
  const nY = body.jaxpr.outs.length - nK;
  // A carry's tangent is nonzero if it starts so or the body makes it so: iterate to the fixpoint.
  let carryNz = given.slice(nC, nC + nK);
  for (;;) {
    const out = nonzeroOutputs(body, [...given.slice(0, nC), ...carryNz, ...given.slice(nC + nK)]);
    const next = carryNz.map((c, i) => c || out[i]);
    if (next.every((c, i) => c === carryNz[i])) break;
    carryNz = next;
  }
  const nonzeros = [...given.slice(0, nC), ...carryNz, ...given.slice(nC + nK)];
  const plan = cached(body, "scan-jvp", [nC, nK, nonzeros], () => {
    const lin = linearizeJaxpr(body, nonzeros, [...carryNz, ...Array<boolean>(nY).fill(false)]);
    // Residuals that are loop constants pass once; the others are stacked by the primal loop.
    const constRes = lin.residualInput.flatMap((r, k) => (r !== null && r < nC ? [k] : []));
    const stepRes = lin.residualInput.flatMap((r, k) => (r !== null && r < nC ? [] : [k]));
    const pj = lin.primal.jaxpr;
    const primal: ClosedJaxpr = {
      jaxpr: new Jaxpr(pj.constVars, pj.inVars, pj.eqns, [...pj.outs.slice(0, nK + nY), ...stepRes.map((k) => pj.outs[nK + nY + k])]),
      consts: lin.primal.consts,
    };
    const lj = lin.linear.jaxpr;
    const nRes = lin.residuals.length;
    const res = lj.inVars.slice(0, nRes);
    const tans = lj.inVars.slice(nRes);
    const nTC = nonzeros.slice(0, nC).filter(Boolean).length;
    const nTK = carryNz.filter(Boolean).length;
    const linear: ClosedJaxpr = {
      jaxpr: new Jaxpr(lj.constVars, [...constRes.map((k) => res[k]), ...tans.slice(0, nTC), ...tans.slice(nTC, nTC + nTK), ...stepRes.map((k) => res[k]), ...tans.slice(nTC + nTK)], lj.eqns, lj.outs),
      consts: lin.linear.consts,
    };
    const mask = [...constRes.map(() => false), ...Array<boolean>(nTC + nTK).fill(true), ...stepRes.map(() => false), ...Array<boolean>(tans.length - nTC - nTK).fill(true)];
    return { primal, linear, constRes: constRes.map((k) => lin.residualInput[k]!), nStepRes: stepRes.length, nTC, nTK, mask, outNonzero: lin.outNonzero };
  });
  const outs = bind(scanP, primals, { ...p, body: plan.primal, linear: undefined });
  const stepRes = outs.slice(nK + nY);
  const nzT = (from: number, to: number) => tangents.slice(from, to).filter((_, i) => nonzeros[from + i]);
  const carryT = tangents.slice(nC, nC + nK).flatMap((t, i) => (!carryNz[i] ? [] : [given[nC + i] ? t : zeros([...t.shape], { dtype: t.dtype })]));
  const ops = [...plan.constRes.map((r) => primals[r]), ...nzT(0, nC), ...carryT, ...stepRes, ...nzT(nC + nK, nC + nK + nX)];
  const touts = bind(scanP, ops, { body: plan.linear, numConsts: plan.constRes.length + plan.nTC, numCarry: plan.nTK, length: p.length, reverse: p.reverse, linear: plan.mask });
  let k = 0;
  const tanOut = plan.outNonzero.map((nz) => (nz ? touts[k++] : null));
  return [outs.slice(0, nK + nY), tanOut];
}

function scanTranspose(cts: (Tracer | null)[], args: (Tracer | UndefinedPrimal)[], p: ScanParams): (Tracer | null)[] {
  const { body, numConsts: nC, numCarry: nK, length: n } = p;
  const linear = p.linear ?? args.map((a) => a instanceof UndefinedPrimal);
  args.forEach((a, i) => {
    if (a instanceof UndefinedPrimal && !linear[i]) throw new Error(`scan: cannot transpose a loop with respect to operand ${i}, which it is not linear in`);
  });
  if (!linear.slice(nC, nC + nK).every(Boolean)) throw new Error("scan: reverse mode needs every carry of a linear loop to be linear; this loop carries known values");
  const isConst = (i: number) => i < nC;
  const isX = (i: number) => i >= nC + nK;
  const knownConsts = args.filter((_, i) => isConst(i) && !linear[i]) as Tracer[];
  const knownXs = args.filter((_, i) => isX(i) && !linear[i]) as Tracer[];
  const linConsts = args.map((a, i) => i).filter((i) => isConst(i) && linear[i]);
  const linXs = args.map((a, i) => i).filter((i) => isX(i) && linear[i]);
  const outAvals = body.jaxpr.outAvals;
  const ctCarry = cts.slice(0, nK).map((c, i) => c ?? zeros([...outAvals[i].shape], { dtype: outAvals[i].dtype }));
  const ctYs = cts.slice(nK).map((c, j) => c ?? zeros([n, ...outAvals[nK + j].shape], { dtype: outAvals[nK + j].dtype }));
  const tBody = cached(body, "scan-transpose", [nC, nK, linear], () => {
    // (known consts, ct carry, const-ct accumulators, known x, ct y) -> (ct carry, accumulators, ct x)
    const t = transposeJaxpr(body, linear);
    const ins = body.jaxpr.inAvals;
    const kc = knownConsts.length;
    const kx = knownXs.length;
    const accAvals = linConsts.map((i) => ins[i]);
    return traceToJaxpr([...knownConsts.map((c) => c.aval), ...outAvals.slice(0, nK), ...accAvals, ...knownXs.map((x) => ins[args.indexOf(x)]), ...outAvals.slice(nK)], (a) => {
      const [kcs, ctc, acc, kxs, cty] = [
        a.slice(0, kc),
        a.slice(kc, kc + nK),
        a.slice(kc + nK, kc + nK + accAvals.length),
        a.slice(kc + nK + accAvals.length, kc + nK + accAvals.length + kx),
        a.slice(kc + nK + accAvals.length + kx),
      ];
      const out = callBody(t, [...kcs, ...kxs, ...ctc, ...cty]);
      const nLC = linConsts.length;
      // Outputs of the transposed body follow the linear inputs' order: consts, carry, xs.
      const ctLinConsts = out.slice(0, nLC);
      return [...out.slice(nLC, nLC + nK), ...acc.map((s, i) => add(s, ctLinConsts[i])), ...out.slice(nLC + nK)];
    });
  });
  const ins = body.jaxpr.inAvals;
  const acc0 = linConsts.map((i) => zeros([...ins[i].shape], { dtype: ins[i].dtype }));
  const outs = bind(scanP, [...knownConsts, ...ctCarry, ...acc0, ...knownXs, ...ctYs], {
    body: tBody,
    numConsts: knownConsts.length,
    numCarry: nK + acc0.length,
    length: n,
    reverse: !p.reverse,
  });
  const result: (Tracer | null)[] = args.map(() => null);
  linConsts.forEach((i, k) => (result[i] = outs[nK + k]));
  for (let i = 0; i < nK; i++) result[nC + i] = outs[i];
  linXs.forEach((i, k) => (result[i] = outs[nK + acc0.length + k]));
  // Operands that are linear positions but were known (instantiated zeros) take no cotangent.
  return result.map((r, i) => (args[i] instanceof UndefinedPrimal ? r : null));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loop state is any pytree of arrays
type Tree = any;

function checkCarry(what: string, init: readonly ShapedArray[], out: readonly ShapedArray[]): void {
  if (init.length !== out.length || !init.every((a, i) => sameAval(a, out[i]))) {
    throw new Error(
      `${what}: the body must return a carry with the initial carry's shapes and dtypes; it started as ${fmtAvals(init)} and the body returned ${fmtAvals(out)} (cast with astype, or start from the right shape)`,
    );
  }
}

/**
 * Loops `f(carry, x) -> [carry, y]` over the leading axis of `xs` (JAX's lax.scan), stacking
 * the ys. The body is traced once, so a loop of any length is one primitive; carry shapes and
 * dtypes must stay the same. `unroll` is accepted as JAX's speed hint and changes no result.
 * @example const [total, partial] = lax.scan((c, x) => [c.add(x), c.add(x)], np.array(0), np.arange(5).astype("float32"))
 */
export function scan(f: (carry: Tree, x: Tree) => [Tree, Tree], init: Tree, xs: Tree, opts: { length?: number; reverse?: boolean; unroll?: number | boolean } = {}): [Tree, Tree] {
  checkOptions("lax.scan", opts, ["length", "reverse", "unroll"]);
  if (typeof f !== "function") throw new Error(`lax.scan: expected a body function, got ${typeof f}`);
  if (opts.unroll !== undefined && typeof opts.unroll !== "boolean" && !(Number.isInteger(opts.unroll) && opts.unroll >= 1))
    throw new Error(`lax.scan: unroll must be a positive integer or a boolean, got ${JSON.stringify(opts.unroll)}`);
  if (opts.length !== undefined && !(Number.isInteger(opts.length) && opts.length >= 0)) throw new Error(`lax.scan: length must be a non-negative integer, got ${JSON.stringify(opts.length)}`);
  const [xLeaves, xDef] = leavesOf(xs, "lax.scan xs");
  const lengths = new Set(
    xLeaves.map((x) => {
      if (x.ndim === 0) throw new Error("lax.scan: every leaf of xs needs a leading axis to scan over (got a scalar)");
      return x.shape[0];
    }),
  );
  if (opts.length !== undefined) lengths.add(opts.length);
  if (lengths.size === 0) throw new Error("lax.scan: pass xs with a leading axis, or { length } when xs is null");
  if (lengths.size > 1) throw new Error(`lax.scan: xs leaves and length disagree on the number of steps (${[...lengths].join(", ")})`);
  const n = [...lengths][0];
  const [carryLeaves, carryDef] = leavesOf(init, "lax.scan init");
  const nK = carryLeaves.length;
  let yDef: TreeDef | undefined;
  const staged = stageBody("lax.scan", [...carryLeaves.map((c) => c.aval), ...xLeaves.map((x) => ({ shape: x.shape.slice(1), dtype: x.dtype }))], (args) => {
    const out = f(unflatten(carryDef, args.slice(0, nK)), unflatten(xDef, args.slice(nK)));
    if (!Array.isArray(out) || out.length !== 2) throw new Error("lax.scan: the body must return [carry, y]");
    const [cl, cd] = leavesOf(out[0], "lax.scan carry");
    if (!cd.equals(carryDef)) throw new Error(`lax.scan: the body changed the carry's structure from ${carryDef} to ${cd}`);
    checkCarry(
      "lax.scan",
      carryLeaves.map((c) => c.aval),
      cl.map((c) => c.aval),
    );
    const [yl, yd] = leavesOf(out[1], "lax.scan y");
    yDef = yd;
    return [...cl, ...yl];
  });
  const outs = bind(scanP, [...staged.operands, ...carryLeaves, ...xLeaves], { body: staged.body, numConsts: staged.operands.length, numCarry: nK, length: n, reverse: !!opts.reverse });
  return [unflatten(carryDef, outs.slice(0, nK)), unflatten(yDef!, outs.slice(nK))];
}

/**
 * `carry = body(i, carry)` for i in [lower, upper) (JAX's fori_loop); i is an int32 scalar.
 * With JS integer bounds it is a scan (differentiable in reverse mode); with traced bounds a
 * whileLoop (forward mode only, as in JAX).
 * @example lax.forLoop(0, 3, (i, x) => x.mul(2), np.array(1)) // 8
 */
export function forLoop(lower: number | Tracer, upper: number | Tracer, body: (i: Tracer, carry: Tree) => Tree, init: Tree): Tree {
  if (typeof body !== "function") throw new Error(`lax.forLoop: expected a body function (i, carry) => carry, got ${typeof body}`);
  const staticBound = (b: unknown) => typeof b === "number";
  if (staticBound(lower) && staticBound(upper)) {
    const lo = lower as number;
    const hi = upper as number;
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new Error(`lax.forLoop: bounds must be integers, got ${lo} and ${hi}`);
    const [counter] = scan(([i, c]: [Tracer, Tree]) => [[add(i, scalar(1, "int32")), body(i, c)], null], [scalar(lo, "int32"), init], null, { length: Math.max(0, hi - lo) });
    return counter[1];
  }
  const [lo, hi] = [asArray(lower as never, "int32"), asArray(upper as never, "int32")];
  if (lo.size !== 1 || hi.size !== 1 || lo.dtype !== "int32" || hi.dtype !== "int32") throw new Error(`lax.forLoop: bounds must be integer scalars, got ${fmtAvals([lo.aval, hi.aval])}`);
  const out = whileLoop(
    ([i]: [Tracer, Tree]) => lt(i, reshape(hi, [])),
    ([i, c]: [Tracer, Tree]) => [add(i, scalar(1, "int32")), body(i, c)],
    [reshape(lo, []), init],
  );
  return out[1];
}

/** JAX's name for forLoop. */
export const foriLoop = forLoop;

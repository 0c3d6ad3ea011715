/**
 * The registry-driven property suite. Every registered primitive needs a case in
 * tests/cases/*.ts (picked up automatically); each case is checked, over random seeds, for
 *   jvp = central finite differences, grad = finite differences, vmap = loop,
 *   jit = eager, and <A x, y> = <x, A^T y> for linear arguments.
 * On WebGPU (the webgpu project) each case is drawn on the CPU as here and placed there,
 * float64 as float32 (WGSL has none); the finite-difference references stay on the CPU in
 * float64, at the same (float32-rounded) points.
 */
import "../../index.ts";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { grad, jit, jvp, np, vjp, vmap } from "../../index.ts";
import { isFloat, type DType } from "../../core/dtype.ts";
import { allPrimitives, getPrimitive } from "../../core/primitive.ts";
import type { Tracer } from "../../core/tracer.ts";
import { Rng, type PrimCase } from "../cases/types.ts";
import { applyPrim, centralDiff, deviceParams, diffArgsOf, dotProduct, expectMatch, fdEps, makeCase, read, readCpu, reportSkip, stackAt, stackAtAsync, zerosOf } from "./harness.ts";
import { onCpu, onWebgpu, pairOf, testBackend } from "../backend-under-test.ts";
import { expectClose } from "../helpers.ts";
import type { NDArray } from "../../core/array.ts";

/** Primitives tested elsewhere, with the reason. */
const EXEMPT: Record<string, string> = {
  jit_call: "higher-order (carries a jaxpr); jit of every case below and tests/transforms/compositions.test.ts cover it",
  custom_vjp_call: "higher-order (carries user functions); covered by customVjp in tests/transforms/compositions.test.ts",
  custom_lin: "exists only inside grad of customVjp; covered in tests/transforms/compositions.test.ts",
  conv_swapped_operands:
    "made only by the CPU's plan after every transformation (core/compiler/fold-conv-transposes.ts); tests/core/compiler/fold-conv-transposes.test.ts checks jit(grad) against eager",
};

/** Primitives whose JVP rule is a function that nonetheless returns no tangent. */
const ZERO_BY_DEFINITION: Record<string, string> = {
  stop_gradient: "its derivative is zero by definition, not the finite difference of the identity",
};

/**
 * Seeds per check: 30 on the CPU. On WebGPU 10, which keeps the file near 15 s on lavapipe
 * (30 take 35 s with a warm shader cache, minutes with a cold one): every check still runs
 * on every case, over fewer draws; tests/backends/webgpu/primitives.test.ts compares the
 * kernels themselves with the CPU over other draws.
 */
const RUNS = Number(process.env.PROPERTY_RUNS ?? (onWebgpu ? 10 : 30));

type NamedCase = PrimCase & { name?: string; file: string; index: number };
const casesDir = new URL("../cases/", import.meta.url);
const caseFiles = readdirSync(casesDir)
  .filter((f) => f.endsWith(".ts") && f !== "types.ts")
  .sort();
const cases: NamedCase[] = [];
for (const file of caseFiles) {
  const mod = (await import(new URL(file, casesDir).href)) as { cases?: PrimCase[] };
  if (!Array.isArray(mod.cases)) throw new Error(`tests/cases/${file} must export \`cases: PrimCase[]\``);
  mod.cases.forEach((c, index) => cases.push({ ...c, file, index }));
}

const seeds = fc.integer({ min: 1, max: 0x7fffffff });
const forSeeds = (body: (seed: number) => Promise<void>) =>
  fc.assert(
    fc.asyncProperty(seeds, (s) => body(s)),
    { numRuns: RUNS },
  );

/**
 * Agreement of two evaluations of the same values on the backend under test (jit vs eager,
 * vmap vs a loop, jvp's primal vs eager). In float64 on the CPU, 1e-9 or tighter. On WebGPU
 * everything is float32 (epsilon 1.2e-7): fused or batched kernels may sum in another order,
 * and 1e-5 relative to 1 + |value| is about 100 ulp, room for sums of the few dozen terms
 * these cases draw (observed on lavapipe over 30 seeds: below 1e-7).
 */
const tightTol = (c: PrimCase) => (onWebgpu ? 1e-5 : Math.max(1e-9, (c.tol ?? 1e-6) * 1e-3));
/**
 * A derivative computed in float32 on WebGPU against float64 central differences on the CPU
 * (at the same, float32-rounded, point): the differences are exact to about 1e-10, so the
 * gap is the backend's float32 rounding of the derivative's chain (a few ulp per op, through
 * up to ~30 ops for expm's Frechet derivative or a determinant) and WGSL's transcendental
 * functions. Observed on lavapipe over 30 seeds: below 1e-6 relative to 1 + |value| except
 * det's jvp (below 1e-5); 1e-4 leaves a factor of 10.
 */
const F32_DERIVATIVE_TOL = 1e-4;

/**
 * Finite-difference step and tolerance, from the reference's dtypes (the CPU's): float64
 * throughout, or coarse when an input or output is float32 there. On WebGPU the tolerance
 * is at least F32_DERIVATIVE_TOL.
 */
function precision(c: PrimCase, args: Tracer[], which: number[], outs: Tracer[]): { eps: number; tol: number } {
  const low = [...which.map((i) => args[i]), ...outs].some((x) => isFloat(x.dtype) && x.dtype !== "float64");
  const p = low ? { eps: fdEps("float32"), tol: Math.max(c.tol ?? 0, 1e-2) } : { eps: fdEps("float64"), tol: c.tol ?? 1e-6 };
  return onWebgpu ? { eps: p.eps, tol: Math.max(p.tol, F32_DERIVATIVE_TOL) } : p;
}

function isZeroJvp(name: string): boolean {
  return getPrimitive(name).jvp === "zero" || name in ZERO_BY_DEFINITION;
}

async function expectAllZero(xs: (Tracer | null)[], what: string): Promise<void> {
  for (const [k, x] of xs.entries()) {
    if (x)
      expect(
        [...(await read(x))].every((v) => v === 0),
        `${what}: output ${k} is not zero`,
      ).toBe(true);
  }
}

/**
 * A case drawn on the CPU and placed on the backend under test: `args` there, `refArgs` on
 * the CPU at the same point (the same arrays on the CPU project), `f` the primitive on the
 * backend under test and `fRef` on the CPU with the case's own params.
 */
function drawCase(c: PrimCase, seed: number, valueSeed?: number) {
  const { args: drawn, params } = makeCase(c, seed, valueSeed);
  const pairs = drawn.map(pairOf);
  const devParams = deviceParams(params, c);
  return {
    drawn,
    args: pairs.map((p) => p.dev),
    refArgs: pairs.map((p) => p.ref),
    f: (xs: Tracer[]) => applyPrim(c.prim, xs, devParams),
    fRef: (xs: Tracer[]) => onCpu(() => applyPrim(c.prim, xs, params)),
  };
}

/** A random array drawn on the CPU in a reference dtype (float64, or float32 where the case has float32) and placed as a Pair. */
const drawPair = (rng: Rng, shape: number[], dtype: DType) => pairOf(onCpu(() => rng.array(shape, dtype)));

async function checkJvp(c: NamedCase, seed: number): Promise<void> {
  const { drawn, args, refArgs, f, fRef } = drawCase(c, seed);
  const which = diffArgsOf(c, args);
  const rng = new Rng(seed + 1);
  if (isZeroJvp(c.prim)) {
    // Every input gets a tangent (zeros for integer inputs); every output tangent must be zero.
    const dirs = args.map((a) => (isFloat(a.dtype) ? rng.array(a.shape, a.dtype) : zerosOf(a)));
    const [, touts] = jvp((...xs: Tracer[]) => f(xs), args, dirs);
    await expectAllZero(touts as Tracer[], `${c.prim} jvp`);
    return;
  }
  if (which.length === 0) return reportSkip(c.prim, "jvp", "this draw has no float input to differentiate");
  const dirs = which.map((i) => drawPair(rng, drawn[i].shape, drawn[i].dtype));
  const sub = (ds: Tracer[]) => args.map((a, i) => (which.includes(i) ? ds[which.indexOf(i)] : a));
  const [outs, touts] = jvp(
    (...ds: Tracer[]) => f(sub(ds)),
    which.map((i) => args[i]),
    dirs.map((d) => d.dev),
  ) as unknown as [Tracer[], Tracer[]];
  const eager = f(args);
  for (const [k, o] of outs.entries()) await expectMatch(o, eager[k], tightTol(c), `${c.prim} jvp primal ${k}`);
  const eagerRef = onWebgpu ? fRef(refArgs) : eager;
  const { eps, tol } = precision(c, refArgs, which, eagerRef);
  const fd = centralDiff(
    fRef,
    refArgs,
    which,
    dirs.map((d) => d.ref),
    eps,
  );
  for (const [k, d] of fd.entries()) {
    if (d === null) await expectAllZero([touts[k]], `${c.prim} jvp of non-float output`);
    else await expectClose(touts[k], d, tol, `${c.prim} jvp output ${k} vs finite differences`);
  }
}

async function checkGrad(c: NamedCase, seed: number): Promise<boolean> {
  const { drawn, args, refArgs, f, fRef } = drawCase(c, seed);
  const which = diffArgsOf(c, args);
  const eager = f(args);
  const floatOuts = eager.flatMap((o, k) => (isFloat(o.dtype) ? [k] : []));
  if (which.length === 0 || floatOuts.length === 0) return false;
  const eagerRef = onWebgpu ? fRef(refArgs) : eager;
  const rng = new Rng(seed + 2);
  const cts = eagerRef.map((o) => (isFloat(o.dtype) ? drawPair(rng, o.shape, o.dtype) : null));
  const dirs = which.map((i) => drawPair(rng, drawn[i].shape, drawn[i].dtype));
  const sub = (ds: Tracer[]) => args.map((a, i) => (which.includes(i) ? ds[which.indexOf(i)] : a));
  const objective = (...ds: Tracer[]) => {
    const outs = f(sub(ds));
    return floatOuts.map((k) => np.sum(np.mul(outs[k], cts[k]!.dev))).reduce((s, t) => np.add(s, t));
  };
  const grads = grad(objective, { argnums: which.map((_, j) => j) })(...which.map((i) => args[i])) as Tracer[];
  const { eps, tol } = precision(c, refArgs, which, eagerRef);
  for (const [j, i] of which.entries()) {
    expect(grads[j].shape, `${c.prim} grad shape of input ${i}`).toEqual(args[i].shape);
    const actual = await dotProduct(grads[j], dirs[j].ref);
    if (isZeroJvp(c.prim)) {
      expect(actual, `${c.prim} grad must be zero`).toBe(0);
      continue;
    }
    const fd = centralDiff(fRef, refArgs, [i], [dirs[j].ref], eps);
    let expected = 0;
    let scale = 0;
    for (const k of floatOuts) {
      const a = readCpu(fd[k]!);
      const b = readCpu(cts[k]!.ref);
      for (let e = 0; e < a.length; e++) {
        expected += a[e] * b[e];
        scale += Math.abs(a[e] * b[e]);
      }
    }
    expect(Math.abs(actual - expected), `${c.prim} <grad_${i}, d> = ${actual}, finite differences give ${expected}`).toBeLessThanOrEqual(tol * (1 + scale));
  }
  return true;
}

async function checkVmap(c: NamedCase, seed: number): Promise<void> {
  const sets = [0, 1, 2].map((b) => makeCase(c, seed, seed * 31 + b + 17));
  const { args: drawn, params: drawnParams } = sets[0];
  sets.forEach((s) =>
    expect(
      s.args.map((a) => `${a.dtype}${a.shape}`),
      "a case must draw shapes from structural draws only",
    ).toEqual(drawn.map((a) => `${a.dtype}${a.shape}`)),
  );
  const params = deviceParams(drawnParams, c);
  const rng = new Rng(seed + 3);
  // Odd seeds batch every input; even seeds leave a random subset unbatched (inAxes null).
  const batched = drawn.map(() => seed % 2 === 1 || rng.next() < 0.6);
  if (!batched.some(Boolean)) batched[rng.int(0, drawn.length)] = true;
  const inAxes = drawn.map((a, i) => (batched[i] ? rng.int(0, a.ndim + 1) : null));
  // Stacked on the CPU as drawn, then placed (float32 on WebGPU rounds each set the same way).
  const dev = sets.map((s) => s.args.map((a) => pairOf(a).dev));
  const inputs = drawn.map((a, i) =>
    batched[i]
      ? pairOf(
          stackAt(
            sets.map((s) => s.args[i]),
            inAxes[i]!,
          ),
        ).dev
      : dev[0][i],
  );
  const per = dev.map((d) =>
    applyPrim(
      c.prim,
      d.map((a, i) => (batched[i] ? a : dev[0][i])),
      params,
    ),
  );
  const outAxes = per[0].map((o) => rng.int(0, o.ndim + 1));
  const out = vmap((...xs: Tracer[]) => applyPrim(c.prim, xs, params), { inAxes, outAxes })(...inputs) as Tracer[];
  for (let k = 0; k < per[0].length; k++) {
    const expected = await stackAtAsync(
      per.map((p) => p[k]),
      outAxes[k],
    );
    await expectMatch(out[k], expected, tightTol(c), `${c.prim} vmap (inAxes ${JSON.stringify(inAxes)}, outAxes ${outAxes}) output ${k}`);
  }
}

async function checkJit(c: NamedCase, seed: number): Promise<void> {
  const { args, f } = drawCase(c, seed);
  const eager = f(args);
  for (const e of eager) expect((e as NDArray).backend, `${c.prim} runs on the backend under test`).toBe(testBackend);
  const staged = jit((...xs: Tracer[]) => f(xs));
  for (let rep = 0; rep < 2; rep++) {
    const outs = staged(...args) as Tracer[];
    for (const [k, e] of eager.entries()) await expectMatch(outs[k], e, tightTol(c), `${c.prim} jit output ${k} (call ${rep + 1})`);
  }
}

/** <L x, y> = <x, L^T y> with L x = A(x) - A(0), A the primitive as a function of one input. */
async function checkTranspose(c: NamedCase, seed: number): Promise<number> {
  const { args, f } = drawCase(c, seed);
  const lin = c.linearArgs ?? args.flatMap((a, i) => (isFloat(a.dtype) ? [i] : []));
  let checked = 0;
  for (const i of lin) {
    const x = args[i];
    if (!isFloat(x.dtype)) continue;
    const A = (v: Tracer) => f(args.map((a, j) => (j === i ? v : a)));
    const floatOuts = A(x).flatMap((o, k) => (isFloat(o.dtype) ? [k] : []));
    if (floatOuts.length === 0) continue;
    const Af = (v: Tracer) => floatOuts.map((k) => A(v)[k]);
    const Ax = Af(x);
    const A0 = Af(zerosOf(x));
    const rng = new Rng(seed + 4 + i);
    const ys = Ax.map((o) => rng.array(o.shape, o.dtype));
    const [, back] = vjp((v: Tracer) => Af(v), x);
    const ATy = back(ys)[0] as Tracer;
    expect(ATy.shape, `${c.prim} transpose shape for input ${i}`).toEqual(x.shape);
    let lhs = 0;
    let scale = 0;
    for (const [k, ax] of Ax.entries()) {
      const [u, u0, w] = await Promise.all([read(ax), read(A0[k]), read(ys[k])]);
      for (let e = 0; e < u.length; e++) {
        const t = (u[e] - u0[e]) * w[e];
        lhs += t;
        scale += Math.abs(t);
      }
    }
    const rhs = await dotProduct(x, ATy);
    // float32 (an input or output on the CPU, everything on WebGPU): 1e-4 relative to the sum of |terms|.
    const tol = [x, ...Ax].every((v) => v.dtype === "float64") ? tightTol(c) * 10 : 1e-4;
    expect(Math.abs(lhs - rhs), `${c.prim} input ${i}: <A x, y> = ${lhs} but <x, A^T y> = ${rhs}`).toBeLessThanOrEqual(tol * (1 + scale));
    checked++;
  }
  return checked;
}

describe("primitive registry", () => {
  it("every registered primitive has a property case (or a listed exemption)", () => {
    for (const [name, reason] of Object.entries(EXEMPT)) console.log(`[properties] ${name} is exempt: ${reason}`);
    const covered = new Set(cases.map((c) => c.prim));
    const missing = allPrimitives()
      .map((p) => p.name)
      .filter((n) => !covered.has(n) && !(n in EXEMPT));
    expect(missing, `primitives without a case in tests/cases/*.ts: ${missing.join(", ")}`).toEqual([]);
  });
  it("every case names a registered primitive", () => {
    const unknown = cases.filter((c) => !allPrimitives().some((p) => p.name === c.prim)).map((c) => `${c.prim} (${c.file})`);
    expect(unknown, `cases for unregistered primitives (is their module imported by index.ts?): ${unknown.join(", ")}`).toEqual([]);
  });
});

for (const c of cases) {
  const title = `${c.name ?? c.prim} [${c.file}#${c.index}]`;
  // Unknown names fail "every case names a registered primitive" above.
  const prim = allPrimitives().find((p) => p.name === c.prim);
  if (!prim) continue;
  describe(title, () => {
    const run = (check: "jvp" | "grad" | "vmap" | "jit" | "transpose", body: () => Promise<void>) => {
      const reason = c.skip?.[check];
      if (reason) {
        reportSkip(title, check, reason);
        it.skip(`${check} — skipped: ${reason}`, () => {});
      } else it(check, body);
    };
    if (!prim.jvp) {
      reportSkip(title, "jvp/grad", "the primitive has no JVP rule");
      it.skip("jvp/grad — skipped: the primitive has no JVP rule", () => {});
    } else {
      run("jvp", () => forSeeds((s) => checkJvp(c, s)));
      run("grad", async () => {
        let ran = 0;
        await forSeeds(async (s) => void (ran += (await checkGrad(c, s)) ? 1 : 0));
        if (ran === 0) reportSkip(title, "grad", "no float input to differentiate or no float output");
      });
    }
    run("vmap", () => forSeeds((s) => checkVmap(c, s)));
    run("jit", () => forSeeds((s) => checkJit(c, s)));
    if (prim.transpose) {
      run("transpose", async () => {
        let ran = 0;
        await forSeeds(async (s) => void (ran += await checkTranspose(c, s)));
        if (ran === 0) reportSkip(title, "transpose", "no float linear input with a float output was drawn");
      });
    }
  });
}

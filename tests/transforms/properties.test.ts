/**
 * The registry-driven property suite. Every registered primitive needs a case in
 * tests/cases/*.ts (picked up automatically); each case is checked, over random seeds, for
 *   jvp = central finite differences, grad = finite differences, vmap = loop,
 *   jit = eager, and <A x, y> = <x, A^T y> for linear arguments.
 */
import "../../index.ts";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { grad, jit, jvp, np, vjp, vmap } from "../../index.ts";
import { isFloat } from "../../core/dtype.ts";
import { allPrimitives, getPrimitive } from "../../core/primitive.ts";
import type { Tracer } from "../../core/tracer.ts";
import { Rng, type PrimCase } from "../cases/types.ts";
import {
  applyPrim, axpy, centralDiff, diffArgsOf, dotProduct, expectClose, expectMatch, fdEps, makeCase, read, reportSkip, stackAt, zerosOf,
} from "./harness.ts";

/** Primitives tested elsewhere, with the reason. */
const EXEMPT: Record<string, string> = {
  jit_call: "higher-order (carries a jaxpr); jit of every case below and tests/transforms/compositions.test.ts cover it",
  custom_vjp_call: "higher-order (carries user functions); covered by customVjp in tests/transforms/compositions.test.ts",
  custom_lin: "exists only inside grad of customVjp; covered in tests/transforms/compositions.test.ts",
};

/** Primitives whose JVP rule is a function that nonetheless returns no tangent. */
const ZERO_BY_DEFINITION: Record<string, string> = {
  stop_gradient: "its derivative is zero by definition, not the finite difference of the identity",
};

const RUNS = Number(process.env.PROPERTY_RUNS ?? 30);

type NamedCase = PrimCase & { name?: string; file: string; index: number };
const casesDir = new URL("../cases/", import.meta.url);
const caseFiles = readdirSync(casesDir).filter((f) => f.endsWith(".ts") && f !== "types.ts").sort();
const cases: NamedCase[] = [];
for (const file of caseFiles) {
  const mod = (await import(new URL(file, casesDir).href)) as { cases?: PrimCase[] };
  if (!Array.isArray(mod.cases)) throw new Error(`tests/cases/${file} must export \`cases: PrimCase[]\``);
  mod.cases.forEach((c, index) => cases.push({ ...c, file, index }));
}

const seeds = fc.integer({ min: 1, max: 0x7fffffff });
const forSeeds = (body: (seed: number) => void) => fc.assert(fc.property(seeds, (s) => body(s)), { numRuns: RUNS });

const tightTol = (c: PrimCase) => Math.max(1e-9, (c.tol ?? 1e-6) * 1e-3);
/** Finite-difference step and tolerance: float64 throughout, or coarse when an input or output is float32. */
function precision(c: PrimCase, args: Tracer[], which: number[], outs: Tracer[]): { eps: number; tol: number } {
  const low = [...which.map((i) => args[i]), ...outs].some((x) => isFloat(x.dtype) && x.dtype !== "float64");
  return low ? { eps: fdEps("float32"), tol: Math.max(c.tol ?? 0, 1e-2) } : { eps: fdEps("float64"), tol: c.tol ?? 1e-6 };
}

function isZeroJvp(name: string): boolean {
  return getPrimitive(name).jvp === "zero" || name in ZERO_BY_DEFINITION;
}

function expectAllZero(xs: (Tracer | null)[], what: string): void {
  xs.forEach((x, k) => {
    if (x) expect([...read(x)].every((v) => v === 0), `${what}: output ${k} is not zero`).toBe(true);
  });
}

function checkJvp(c: NamedCase, seed: number): void {
  const { args, params } = makeCase(c, seed);
  const f = (xs: Tracer[]) => applyPrim(c.prim, xs, params);
  const which = diffArgsOf(c, args);
  const rng = new Rng(seed + 1);
  if (isZeroJvp(c.prim)) {
    // Every input gets a tangent (zeros for integer inputs); every output tangent must be zero.
    const dirs = args.map((a) => (isFloat(a.dtype) ? rng.array(a.shape, a.dtype) : zerosOf(a)));
    const [, touts] = jvp((...xs: Tracer[]) => f(xs), args, dirs);
    expectAllZero(touts as Tracer[], `${c.prim} jvp`);
    return;
  }
  if (which.length === 0) return reportSkip(c.prim, "jvp", "this draw has no float input to differentiate");
  const dirs = which.map((i) => rng.array(args[i].shape, args[i].dtype));
  const sub = (ds: Tracer[]) => args.map((a, i) => (which.includes(i) ? ds[which.indexOf(i)] : a));
  const [outs, touts] = jvp((...ds: Tracer[]) => f(sub(ds)), which.map((i) => args[i]), dirs) as unknown as [Tracer[], Tracer[]];
  const eager = f(args);
  outs.forEach((o, k) => expectMatch(o, eager[k], tightTol(c), `${c.prim} jvp primal ${k}`));
  const { eps, tol } = precision(c, args, which, eager);
  const fd = centralDiff(f, args, which, dirs, eps);
  fd.forEach((d, k) => {
    if (d === null) expectAllZero([touts[k]], `${c.prim} jvp of non-float output`);
    else expectClose(touts[k], d, tol, `${c.prim} jvp output ${k} vs finite differences`, false);
  });
}

function checkGrad(c: NamedCase, seed: number): boolean {
  const { args, params } = makeCase(c, seed);
  const f = (xs: Tracer[]) => applyPrim(c.prim, xs, params);
  const which = diffArgsOf(c, args);
  const eager = f(args);
  const floatOuts = eager.flatMap((o, k) => (isFloat(o.dtype) ? [k] : []));
  if (which.length === 0 || floatOuts.length === 0) return false;
  const rng = new Rng(seed + 2);
  const cts = eager.map((o) => (isFloat(o.dtype) ? rng.array(o.shape, o.dtype) : null));
  const dirs = which.map((i) => rng.array(args[i].shape, args[i].dtype));
  const sub = (ds: Tracer[]) => args.map((a, i) => (which.includes(i) ? ds[which.indexOf(i)] : a));
  const objective = (...ds: Tracer[]) => {
    const outs = f(sub(ds));
    return floatOuts.map((k) => np.sum(np.mul(outs[k], cts[k]!))).reduce((s, t) => np.add(s, t));
  };
  const grads = grad(objective, { argnums: which.map((_, j) => j) })(...which.map((i) => args[i])) as Tracer[];
  const { eps, tol } = precision(c, args, which, eager);
  which.forEach((i, j) => {
    expect(grads[j].shape, `${c.prim} grad shape of input ${i}`).toEqual(args[i].shape);
    const actual = dotProduct(grads[j], dirs[j]);
    if (isZeroJvp(c.prim)) return void expect(actual, `${c.prim} grad must be zero`).toBe(0);
    const fd = centralDiff(f, args, [i], [dirs[j]], eps);
    let expected = 0;
    let scale = 0;
    floatOuts.forEach((k) => {
      expected += dotProduct(fd[k]!, cts[k]!);
      const a = read(fd[k]!);
      const b = read(cts[k]!);
      for (let e = 0; e < a.length; e++) scale += Math.abs(a[e] * b[e]);
    });
    expect(Math.abs(actual - expected), `${c.prim} <grad_${i}, d> = ${actual}, finite differences give ${expected}`).toBeLessThanOrEqual(tol * (1 + scale));
  });
  return true;
}

function checkVmap(c: NamedCase, seed: number): void {
  const sets = [0, 1, 2].map((b) => makeCase(c, seed, seed * 31 + b + 17));
  const { args, params } = sets[0];
  sets.forEach((s) => expect(s.args.map((a) => `${a.dtype}${a.shape}`), "a case must draw shapes from structural draws only").toEqual(args.map((a) => `${a.dtype}${a.shape}`)));
  const rng = new Rng(seed + 3);
  // Odd seeds batch every input; even seeds leave a random subset unbatched (inAxes null).
  const batched = args.map(() => seed % 2 === 1 || rng.next() < 0.6);
  if (!batched.some(Boolean)) batched[rng.int(0, args.length)] = true;
  const inAxes = args.map((a, i) => (batched[i] ? rng.int(0, a.ndim + 1) : null));
  const inputs = args.map((a, i) => (batched[i] ? stackAt(sets.map((s) => s.args[i]), inAxes[i]!) : a));
  const per = sets.map((s) => applyPrim(c.prim, args.map((a, i) => (batched[i] ? s.args[i] : a)), params));
  const outAxes = per[0].map((o) => rng.int(0, o.ndim + 1));
  const out = vmap((...xs: Tracer[]) => applyPrim(c.prim, xs, params), { inAxes, outAxes })(...inputs) as Tracer[];
  per[0].forEach((_, k) => {
    const expected = stackAt(per.map((p) => p[k]), outAxes[k]);
    expectMatch(out[k], expected, tightTol(c), `${c.prim} vmap (inAxes ${JSON.stringify(inAxes)}, outAxes ${outAxes}) output ${k}`);
  });
}

function checkJit(c: NamedCase, seed: number): void {
  const { args, params } = makeCase(c, seed);
  const eager = applyPrim(c.prim, args, params);
  const staged = jit((...xs: Tracer[]) => applyPrim(c.prim, xs, params));
  for (let rep = 0; rep < 2; rep++) {
    const outs = staged(...args) as Tracer[];
    eager.forEach((e, k) => expectMatch(outs[k], e, tightTol(c), `${c.prim} jit output ${k} (call ${rep + 1})`));
  }
}

/** <L x, y> = <x, L^T y> with L x = A(x) - A(0), A the primitive as a function of one input. */
function checkTranspose(c: NamedCase, seed: number): number {
  const { args, params } = makeCase(c, seed);
  const lin = c.linearArgs ?? args.flatMap((a, i) => (isFloat(a.dtype) ? [i] : []));
  let checked = 0;
  for (const i of lin) {
    const x = args[i];
    if (!isFloat(x.dtype)) continue;
    const A = (v: Tracer) => applyPrim(c.prim, args.map((a, j) => (j === i ? v : a)), params);
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
    Ax.forEach((ax, k) => {
      const Lx = axpy(ax, -1, A0[k]);
      lhs += dotProduct(Lx, ys[k]);
      const [u, w] = [read(Lx), read(ys[k])];
      for (let e = 0; e < u.length; e++) scale += Math.abs(u[e] * w[e]);
    });
    const rhs = dotProduct(x, ATy);
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
    const missing = allPrimitives().map((p) => p.name).filter((n) => !covered.has(n) && !(n in EXEMPT));
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
    const run = (check: "jvp" | "grad" | "vmap" | "jit" | "transpose", body: () => void) => {
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
      run("grad", () => {
        let ran = 0;
        forSeeds((s) => void (ran += checkGrad(c, s) ? 1 : 0));
        if (ran === 0) reportSkip(title, "grad", "no float input to differentiate or no float output");
      });
    }
    run("vmap", () => forSeeds((s) => checkVmap(c, s)));
    run("jit", () => forSeeds((s) => checkJit(c, s)));
    if (prim.transpose) {
      run("transpose", () => {
        let ran = 0;
        forSeeds((s) => void (ran += checkTranspose(c, s)));
        if (ran === 0) reportSkip(title, "transpose", "no float linear input with a float output was drawn");
      });
    }
  });
}

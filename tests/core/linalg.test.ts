import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { np, linalg, grad, vmap, jit, jvp, vjp, type Array as Arr } from "../../index.ts";
import { fromTyped } from "../../core/array.ts";
import { getPrimitive, UndefinedPrimal } from "../../core/primitive.ts";
import { bind } from "../../core/trace.ts";
import { expmFrechetP, solveP } from "../../core/primitives/linalg.ts";
import { Rng } from "../cases/types.ts";
import { cases } from "../cases/linalg.ts";

const f64 = (data: ArrayLike<number>, shape: number[]) => fromTyped(Float64Array.from(data), shape, "float64");
const eye = (n: number) => np.eye(n, n, { dtype: "float64" });
/** Runs a property over random seeds drawn by fast-check (failures shrink to a seed). */
function forSeeds(numRuns: number, body: (seed: number) => void): void {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), body), { numRuns });
}

/** Entrywise |a - b| <= tol * (1 + |b|). */
function close(a: Arr, b: Arr | number[], tol = 1e-12) {
  const x = a.dataSync();
  const y = Array.isArray(b) ? b : b.dataSync();
  expect(x.length).toBe(y.length);
  x.forEach((v, i) => {
    if (!(Math.abs(v - y[i]) <= tol * (1 + Math.abs(y[i])))) throw new Error(`entry ${i}: ${v} vs ${y[i]} (tol ${tol})`);
  });
}

function noise(rng: Rng, shape: number[], scale = 1): Arr {
  return f64(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-scale, scale)), shape);
}

function wellConditioned(rng: Rng, shape: number[]): Arr {
  const n = shape[shape.length - 1];
  return np.add(noise(rng, shape, 0.5), np.mul(eye(n), n));
}

/** Central differences of a scalar function of one array, entry by entry. */
function numericGrad(f: (x: Arr) => Arr, x: Arr, h = 1e-5): number[] {
  const base = x.dataSync();
  return Array.from(base, (_, i) => {
    const p = Float64Array.from(base);
    const m = Float64Array.from(base);
    p[i] += h;
    m[i] -= h;
    return ((f(f64(p, x.shape)).item() as number) - (f(f64(m, x.shape)).item() as number)) / (2 * h);
  });
}

/** exp(A) = sum_k A^k / k!, in plain JS (for small norms). */
function powerSeries(a: Float64Array, n: number, terms = 40): number[] {
  const out = new Array<number>(n * n).fill(0);
  let term: number[] = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  for (let k = 1; k <= terms; k++) {
    out.forEach((_, i) => (out[i] += term[i]));
    const next = new Array<number>(n * n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let l = 0; l < n; l++) next[i * n + j] += (term[i * n + l] * a[l * n + j]) / k;
    term = next;
  }
  return out;
}

describe("expm", () => {
  it("matches its power series for small norms", () => {
    forSeeds(15, (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 5);
      const a = noise(rng, [n, n], rng.pick([0.001, 0.05, 0.3]));
      close(linalg.expm(a), powerSeries(a.dataSync() as Float64Array, n), 1e-14);
    });
  });

  it("squares: expm(A) = expm(A/2)^2 for larger norms, and expm(A) expm(-A) = I", () => {
    forSeeds(15, (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 6);
      const a = noise(rng, [2, n, n], rng.pick([1, 3, 6]));
      const half = linalg.expm(a.mul(0.5));
      close(linalg.expm(a), np.matmul(half, half), 1e-10);
      // The product cancels to I with rounding error ~ eps * n * max|e^A| * max|e^-A|, which for
      // norm-6 matrices exceeds 1e-9; scale the tolerance by that error bound.
      const ea = linalg.expm(a);
      const eb = linalg.expm(a.neg());
      const bound = n * (np.max(np.abs(ea)).item() as number) * (np.max(np.abs(eb)).item() as number);
      close(np.matmul(ea, eb), np.broadcastTo(eye(n), [2, n, n]), Math.max(1e-12, 1e-14 * bound));
    });
  });

  it("gives rotations for skew generators and exp of the entries for diagonals", () => {
    fc.assert(
      fc.property(fc.double({ min: -20, max: 20, noNaN: true }), (t) => {
        const r = linalg.expm(f64([0, -t, t, 0], [2, 2]));
        close(r, [Math.cos(t), -Math.sin(t), Math.sin(t), Math.cos(t)], 1e-12);
      }),
      { numRuns: 30 },
    );
    const d = [-3, 0.5, 0, 7];
    close(linalg.expm(np.mul(eye(4), f64(d, [4]))), np.mul(eye(4), np.exp(f64(d, [4]))), 1e-14);
  });

  it("is batched over leading axes and accepts float32 and ints", () => {
    const rng = new Rng(7);
    const a = noise(rng, [2, 3, 3, 3], 2);
    const out = linalg.expm(a);
    expect(out.shape).toEqual([2, 3, 3, 3]);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) close(out.slice(i, j), linalg.expm(a.slice(i, j)), 0);
    const f32 = linalg.expm(a.astype("float32"));
    expect(f32.dtype).toBe("float32");
    close(f32, out, 1e-5);
    const ints = linalg.expm(np.array([[0, 1], [0, 0]], { dtype: "int32" }));
    expect(ints.dtype).toBe("float32");
    close(ints, [1, 1, 0, 1], 0);
    // Non-finite input: NaN everywhere rather than a misleading finite matrix.
    expect(Array.from(linalg.expm(f64([NaN, 0, 0, 1], [2, 2])).dataSync()).every(Number.isNaN)).toBe(true);
  });
});

describe("expm derivatives", () => {
  it("expmFrechet matches finite differences of expm and is linear in E", () => {
    forSeeds(15, (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 5);
      const a = noise(rng, [n, n], rng.pick([0.1, 1, 3]));
      const e = noise(rng, [n, n]);
      const h = 1e-6;
      const fd = linalg.expm(a.add(e.mul(h))).sub(linalg.expm(a.sub(e.mul(h)))).div(2 * h);
      close(linalg.expmFrechet(a, e), fd, 1e-7);
      close(linalg.expmFrechet(a, e.mul(1e8)), linalg.expmFrechet(a, e).mul(1e8), 1e-12);
      const [, t] = jvp(linalg.expm, [a], [e]);
      close(t, linalg.expmFrechet(a, e), 0);
    });
  });

  it("transposes in E: <L(A, E), C> = <E, L(A^T, C)>", () => {
    const rng = new Rng(3);
    const [a, e, c] = [noise(rng, [4, 4], 2), noise(rng, [4, 4]), noise(rng, [4, 4])];
    const [, back] = vjp((x: Arr) => linalg.expmFrechet(a, x), e);
    close(np.sum(linalg.expmFrechet(a, e).mul(c)), np.sum(back(c)[0].mul(e)), 1e-12);
    expect(() => expmFrechetP.transpose!([c], [new UndefinedPrimal(a.aval), e], {})).toThrow(/expm_frechet: not linear in A/);
  });

  it("grad of sum(expm(A) * W) matches finite differences", () => {
    forSeeds(10, (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 5);
      const [a, w] = [noise(rng, [n, n], rng.pick([0.3, 2])), noise(rng, [n, n])];
      const f = (x: Arr) => np.sum(linalg.expm(x).mul(w));
      close(grad(f)(a), numericGrad(f, a), 1e-7);
    });
  });

  it("grad of grad through expm is finite and matches finite differences of the gradient", () => {
    forSeeds(5, (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 4);
      const [a, w, v] = [noise(rng, [n, n], 1), noise(rng, [n, n]), noise(rng, [n, n])];
      const g = (x: Arr) => np.sum(grad((y: Arr) => np.sum(linalg.expm(y).mul(w)))(x).mul(v));
      const gg = grad(g)(a);
      expect(Array.from(gg.dataSync()).every(Number.isFinite)).toBe(true);
      close(gg, numericGrad(g, a), 1e-6);
    });
  });

  it("vmap of grad through expm equals a loop (per-sample Augerino gradients)", () => {
    const rng = new Rng(11);
    const as = noise(rng, [4, 3, 3], 1.5);
    const w = noise(rng, [3, 3]);
    const g = grad((x: Arr) => np.sum(linalg.expm(x).mul(w)));
    const batched = vmap(g)(as);
    for (let i = 0; i < 4; i++) close(batched.slice(i), g(as.slice(i)), 1e-12);
  });
});

describe("solve and inv", () => {
  it("leaves a small residual A X - B, for vector and matrix right-hand sides", () => {
    forSeeds(15, (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 6);
      const a = wellConditioned(rng, [2, n, n]);
      const b = noise(rng, [2, n, rng.int(1, 4)]);
      close(np.matmul(a, linalg.solve(a, b)), b, 1e-12);
      const v = noise(rng, [n]);
      const x = linalg.solve(a, v);
      expect(x.shape).toEqual([2, n]);
      close(np.matmul(a, np.expandDims(x, -1)), np.broadcastTo(np.expandDims(v, -1), [2, n, 1]), 1e-12);
      close(np.matmul(linalg.inv(a), a), np.broadcastTo(eye(n), [2, n, n]), 1e-12);
    });
  });

  it("broadcasts batch axes of A and b and pivots where the diagonal is zero", () => {
    const a = f64([0, 1, 1, 0], [2, 2]);
    close(linalg.solve(a, f64([2, 3], [2])), [3, 2], 0);
    const bs = f64([1, 2, 3, 4, 5, 6], [3, 2, 1]);
    close(linalg.solve(a, bs), [2, 1, 4, 3, 6, 5], 0);
  });

  it("gradients in A and B match finite differences; the transpose in B is solve(A^T, ct)", () => {
    forSeeds(10, (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 5);
      const [a, b, w] = [wellConditioned(rng, [n, n]), noise(rng, [n, 2]), noise(rng, [n, 2])];
      const fa = (x: Arr) => np.sum(linalg.solve(x, b).mul(w));
      const fb = (x: Arr) => np.sum(linalg.solve(a, x).mul(w));
      close(grad(fa)(a), numericGrad(fa, a), 1e-8);
      close(grad(fb)(b), linalg.solve(np.swapaxes(a, -1, -2), w), 1e-13);
      const fi = (x: Arr) => np.sum(linalg.inv(x).mul(noise(new Rng(seed), [n, n])));
      close(grad(fi)(a), numericGrad(fi, a), 1e-8);
    });
    const a = eye(2);
    expect(() => solveP.transpose!([a], [new UndefinedPrimal(a.aval), a], {})).toThrow(/solve: not linear in A/);
  });

  it("gives NaN for a singular matrix instead of throwing", () => {
    const x = linalg.solve(f64([1, 2, 2, 4], [2, 2]), f64([1, 1], [2]));
    expect(Array.from(x.dataSync()).every(Number.isNaN)).toBe(true);
    const both = linalg.inv(f64([1, 2, 2, 4, 2, 0, 0, 2], [2, 2, 2]));
    expect(Array.from(both.slice(0).dataSync()).every(Number.isNaN)).toBe(true);
    close(both.slice(1), [0.5, 0, 0, 0.5], 0);
  });
});

describe("det and slogdet", () => {
  it("is the product of the diagonal for triangular matrices", () => {
    forSeeds(15, (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 6);
      const a = noise(rng, [n, n], 2);
      const upper = a.dataSync().map((v, i) => (Math.floor(i / n) <= i % n ? v : 0));
      const diag = Array.from({ length: n }, (_, i) => upper[i * n + i]);
      const prod = diag.reduce((p, v) => p * v, 1);
      close(linalg.det(f64(upper, [n, n])), [prod], 1e-13);
      close(linalg.det(np.swapaxes(f64(upper, [n, n]), 0, 1)), [prod], 1e-13);
    });
  });

  it("matches the 2x2 and 3x3 formulas, and slogdet agrees with det", () => {
    forSeeds(15, (seed) => {
      const rng = new Rng(seed);
      const [p, q, r, s] = [0, 0, 0, 0].map(() => rng.uniform(-3, 3));
      close(linalg.det(f64([p, q, r, s], [2, 2])), [p * s - q * r], 1e-13);
      const m = Array.from({ length: 9 }, () => rng.uniform(-3, 3));
      const [a, b, c, d, e, f, g, h, i] = m;
      const d3 = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
      close(linalg.det(f64(m, [3, 3])), [d3], 1e-12);
      const [sign, logabs] = linalg.slogdet(f64(m, [3, 3]));
      close(sign, [Math.sign(d3)], 0);
      close(logabs, [Math.log(Math.abs(d3))], 1e-12);
    });
    close(linalg.det(f64([1, 2, 2, 4], [2, 2])), [0], 0);
    const [sign, logabs] = linalg.slogdet(f64([1, 2, 2, 4], [2, 2]));
    close(sign, [0], 0);
    expect(logabs.item()).toBe(-Infinity);
  });

  it("grad of det is det * inv(A)^T; grad of logabsdet is inv(A)^T; second derivatives match finite differences", () => {
    forSeeds(10, (seed) => {
      const rng = new Rng(seed);
      const n = rng.int(1, 5);
      const a = wellConditioned(rng, [n, n]);
      const invT = np.swapaxes(linalg.inv(a), 0, 1);
      close(grad((x: Arr) => linalg.det(x))(a), linalg.det(a).mul(invT), 1e-11);
      close(grad((x: Arr) => linalg.slogdet(x)[1])(a), invT, 1e-12);
      const v = noise(rng, [n, n]);
      const g = (x: Arr) => np.sum(grad((y: Arr) => linalg.det(y))(x).mul(v));
      close(grad(g)(a), numericGrad(g, a), 1e-6);
    });
  });
});

describe("linalg under transformations", () => {
  const rng = new Rng(5);
  const A = wellConditioned(rng, [3, 3]);
  const As = np.add(noise(rng, [4, 3, 3], 0.5), np.mul(eye(3), 3));
  const Es = noise(rng, [4, 3, 3]);
  const Bs = noise(rng, [3, 4, 2]); // mapped along axis 1
  const fns: [string, (...xs: Arr[]) => Arr, Arr[], (number | null)[]][] = [
    ["expm", (a) => linalg.expm(a), [As], [0]],
    ["expmFrechet", (a, e) => linalg.expmFrechet(a, e), [As, Es], [0, 0]],
    ["expmFrechet, unbatched A", (a, e) => linalg.expmFrechet(a, e), [A, Es], [null, 0]],
    ["solve", (a, b) => linalg.solve(a, b), [As, Bs], [0, 1]],
    ["solve, unbatched A", (a, b) => linalg.solve(a, b), [A, Bs], [null, 1]],
    ["det", (a) => linalg.det(a), [As], [0]],
    ["slogdet", (a) => linalg.slogdet(a)[1].add(linalg.slogdet(a)[0]), [As], [0]],
    ["inv", (a) => linalg.inv(a), [As], [0]],
  ];
  for (const [name, f, args, inAxes] of fns) {
    it(`${name}: vmap equals a loop and jit equals eager`, () => {
      const out = vmap(f, { inAxes })(...args);
      for (let i = 0; i < 4; i++) {
        const sliced = args.map((x, k) => (inAxes[k] === null ? x : inAxes[k] === 0 ? x.slice(i) : np.take(x, i, { axis: inAxes[k]! })));
        close(out.slice(i), f(...sliced), 1e-13);
        close(jit(f)(...sliced), f(...sliced), 0);
      }
    });
  }

  it("every primitive case builds valid inputs on which jit equals eager", () => {
    for (const c of cases) {
      const prim = getPrimitive(c.prim);
      for (let seed = 1; seed < 6; seed++) {
        const { args, params } = c.make(new Rng(seed));
        const eager = bind(prim, args, params)[0];
        expect(Array.from(eager.dataSync()).every(Number.isFinite)).toBe(true);
        close(jit((...xs: Arr[]) => bind(prim, xs, params)[0])(...args), eager, 0);
      }
    }
    expect(cases.map((c) => c.prim).sort()).toEqual(["det", "det_sign", "expm", "expm_frechet", "log_abs_det", "solve"]);
  });
});

describe("linalg input checks", () => {
  it("rejects non-square and mismatched shapes with the function's name", () => {
    const r = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(() => linalg.expm(r)).toThrow(/linalg.expm: expected a square matrix .* got \[2, ?3\]/);
    expect(() => linalg.det(f64([1, 2], [2]))).toThrow(/linalg.det: expected a square matrix/);
    expect(() => linalg.inv(r)).toThrow(/linalg.inv/);
    expect(() => linalg.slogdet(r)).toThrow(/linalg.slogdet/);
    expect(() => linalg.solve(eye(3), f64([1, 2], [2]))).toThrow(/linalg.solve: b \[2\] does not match A \[3, ?3\]/);
    expect(() => linalg.solve(eye(2), f64([1, 2, 3, 4, 5, 6], [3, 2]))).toThrow(/np.expandDims\(b, -1\)/);
    expect(() => linalg.solve(np.zeros([2, 2, 2], { dtype: "float64" }), np.zeros([3, 2, 1], { dtype: "float64" }))).toThrow(/linalg.solve/);
    expect(() => linalg.expmFrechet(eye(2), eye(3))).toThrow(/linalg.expmFrechet: the direction E/);
  });

  it("promotes integer inputs to float32", () => {
    const a = np.array([[2, 1], [1, 3]], { dtype: "int32" });
    expect(linalg.det(a).dtype).toBe("float32");
    expect(linalg.inv(a).dtype).toBe("float32");
    expect(linalg.solve(a, np.array([1, 2], { dtype: "int32" })).dtype).toBe("float32");
    close(linalg.det(a), [5], 1e-6);
    expect(linalg.solve(a, f64([1, 2], [2])).dtype).toBe("float64");
  });
});

/**
 * The Lanczos iteration for the extreme eigenvalues of a large symmetric operator known only
 * through its products (a Hessian through `hvp`): k steps build an orthonormal Krylov basis
 * V and a k x k tridiagonal T = V^T A V whose eigenvalues (Ritz values) approach A's largest
 * and smallest first. The basis is reorthogonalised in full at each step (k is small), so
 * the Ritz values do not repeat as in the plain three-term recurrence.
 */
import { checkOptions } from "./options.ts";
import type { DType } from "./dtype.ts";
import type { Tracer } from "./tracer.ts";
import * as np from "./np.ts";
import * as random from "./random.ts";

/** Eigenvalues and eigenvectors (columns) of a small dense symmetric matrix, by cyclic Jacobi rotations. */
export function symmetricEigen(a: number[][]): { values: number[]; vectors: number[][] } {
  const n = a.length;
  const m = a.map((row) => [...row]);
  const v = m.map((_, i) => m.map((_, j) => (i === j ? 1 : 0)));
  const scale = Math.max(1e-300, Math.hypot(...m.flat()));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p][q] ** 2;
    if (Math.sqrt(off) <= 1e-15 * scale) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (m[p][q] === 0) continue;
        // The rotation in the (p, q) plane that zeroes m[p][q] (the smaller root, for stability).
        const theta = (m[q][q] - m[p][p]) / (2 * m[p][q]);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        const rotate = (x: number[][], byRows: boolean) => {
          for (let r = 0; r < n; r++) {
            const [xp, xq] = byRows ? [x[p][r], x[q][r]] : [x[r][p], x[r][q]];
            const [yp, yq] = [c * xp - s * xq, s * xp + c * xq];
            if (byRows) [x[p][r], x[q][r]] = [yp, yq];
            else [x[r][p], x[r][q]] = [yp, yq];
          }
        };
        rotate(m, false);
        rotate(m, true);
        rotate(v, false);
      }
    }
  }
  return { values: m.map((row, i) => row[i]), vectors: v };
}

/** Unit roundoff per float dtype (the basis is kept in a float dtype). */
const EPSILON: Record<string, number> = { float64: 2.2e-16, float32: 1.2e-7, float16: 9.8e-4 };

export interface LanczosOpts {
  /** Also return the Ritz vectors [k, dim] (default false). */
  vectors?: boolean;
  /** The basis vectors' dtype (default float32; float64 on the CPU for accuracy). */
  dtype?: DType;
}

export interface LanczosResult {
  /** Ritz values, largest first: approximations of A's extreme eigenvalues. */
  values: number[];
  /** [steps, dim]: the Ritz vector of each value (with `vectors: true`). */
  vectors?: Tracer;
  /** Steps taken: k, or fewer when the Krylov space became invariant (then the values are exact). */
  steps: number;
}

/**
 * k Lanczos steps on the symmetric operator `matvec` over vectors of length `dim`, from a
 * random start drawn with `key`. Reads two scalars per step (so it works on every backend).
 * @example
 * const hv = (v: Array) => hvp(lossOfFlat)([w], [v]);
 * const { values } = await linalg.lanczos(hv, w.size, 20, random.key(0)); // top and bottom Hessian eigenvalues
 */
export async function lanczos(matvec: (v: Tracer) => Tracer, dim: number, k: number, key: Tracer, opts: LanczosOpts = {}): Promise<LanczosResult> {
  const op = "linalg.lanczos";
  checkOptions(op, opts, ["vectors", "dtype"]);
  if (typeof matvec !== "function") throw new Error(`${op}: matvec must be a function v -> A v, got ${typeof matvec}`);
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`${op}: dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(k) || k < 1 || k > dim) throw new Error(`${op}: k must be an integer in [1, dim = ${dim}], got ${k}`);
  const dtype = opts.dtype ?? "float32";
  if (!(dtype in EPSILON)) throw new Error(`${op}: dtype must be a float dtype (${Object.keys(EPSILON).join(", ")}), got ${dtype}`);
  const basis: Tracer[] = [];
  const alphas: number[] = [];
  const betas: number[] = [];
  let v = random.normal(key, [dim], { dtype });
  v = v.div(np.sqrt(np.sum(np.square(v))));
  for (let j = 0; j < k; j++) {
    basis.push(v);
    let w = matvec(v);
    if (w.shape.length !== 1 || w.shape[0] !== dim) throw new Error(`${op}: matvec must return a vector of length ${dim}, got [${w.shape}]`);
    w = w.astype(dtype);
    alphas.push(Number((await np.sum(w.mul(v)).data())[0]));
    // Full reorthogonalisation, twice (one pass loses orthogonality once Ritz values converge).
    const V = np.stack(basis);
    for (let pass = 0; pass < 2; pass++) w = w.sub(np.matmul(np.matmul(V, w), V));
    const beta = Number((await np.sqrt(np.sum(np.square(w))).data())[0]);
    if (j === k - 1) break;
    // An invariant subspace: T's eigenvalues are exact eigenvalues of A, and the basis ends
    // here. "Zero" is what rounding leaves of a vector of length dim in this dtype.
    if (!(beta > 10 * Math.sqrt(dim) * EPSILON[dtype] * Math.max(1, ...alphas.map(Math.abs)))) break;
    betas.push(beta);
    v = w.div(beta);
  }
  const m = alphas.length;
  const t = alphas.map((a, i) => alphas.map((_, j) => (i === j ? a : Math.abs(i - j) === 1 ? betas[Math.min(i, j)] : 0)));
  const { values, vectors } = symmetricEigen(t);
  const order = values.map((_, i) => i).sort((a, b) => values[b] - values[a]);
  const result: LanczosResult = { values: order.map((i) => values[i]), steps: m };
  if (opts.vectors) {
    const s = np.array(
      order.map((i) => vectors.map((row) => row[i])),
      { dtype },
    ); // [m, m]: each Ritz vector's coefficients
    result.vectors = np.matmul(s, np.stack(basis));
  }
  return result;
}

/**
 * The effective dimension N_eff(alpha) = sum_i max(lambda_i, 0) / (max(lambda_i, 0) + alpha)
 * of a spectrum (Maddox et al. 2020; the paper's Fig. 9): how many directions are curved by
 * more than about alpha. Each eigenvalue counts between 0 and 1, near 1 when it is well
 * above alpha; negative curvature (a saddle's, or rounding's) counts 0. Give the top of a
 * Hessian's spectrum, e.g. the Ritz values of `lanczos`: the rest, below alpha, adds little.
 * @example linalg.effectiveDimension([100, 1, 0.01], 1) // 100/101 + 1/2 + 0.01/1.01 = 1.50
 */
export function effectiveDimension(eigs: readonly number[], alpha: number): number {
  const op = "linalg.effectiveDimension";
  if (!Array.isArray(eigs)) throw new Error(`${op}: eigs must be an array of eigenvalues (numbers), got ${eigs === null ? "null" : typeof eigs}`);
  const bad = eigs.findIndex((e) => typeof e !== "number" || !Number.isFinite(e));
  if (bad >= 0) throw new Error(`${op}: eigs[${bad}] must be a finite number, got ${String(eigs[bad])}`);
  if (typeof alpha !== "number" || !(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`${op}: alpha must be a positive finite number, got ${String(alpha)}`);
  return eigs.reduce((sum, e) => sum + Math.max(e, 0) / (Math.max(e, 0) + alpha), 0);
}

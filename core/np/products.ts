/** Products: matmul, dot, outer, tensordot, einsum (all through dot_general). */
import { asArray, type ArrayLike } from "../convert.ts";
import { broadcastShapes, fmtShape, normalizeAxis } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import { dotGeneral } from "../primitives/dot.ts";
import { reduceSum } from "../primitives/reduce.ts";
import { reshape, transpose } from "../primitives/shape.ts";
import { broadcastTo, mul, promoteBroadcast, resultType, astype } from "./math.ts";

function promoted(x: ArrayLike, y: ArrayLike): [Tracer, Tracer] {
  const dtype = resultType(x, y);
  return [astype(asArray(x, dtype), dtype), astype(asArray(y, dtype), dtype)];
}

/**
 * Matrix product with NumPy's rules: batch axes broadcast; 1-D operands are vectors.
 * @example np.matmul(np.ones([2, 3]), np.ones([3, 4])) // [2, 4]
 */
export function matmul(x: ArrayLike, y: ArrayLike): Tracer {
  let [a, b] = promoted(x, y);
  const given = `${fmtShape(a.shape)} @ ${fmtShape(b.shape)}`;
  if (a.ndim === 0 || b.ndim === 0) throw new Error("matmul: operands must be at least 1-D; use mul for scalars");
  const aVec = a.ndim === 1;
  const bVec = b.ndim === 1;
  if (aVec) a = reshape(a, [1, a.shape[0]]);
  if (bVec) b = reshape(b, [b.shape[0], 1]);
  const k = a.shape[a.ndim - 1];
  if (k !== b.shape[b.ndim - 2]) throw new Error(`matmul: inner dimensions differ: ${given} (${k} vs ${b.shape[b.ndim - 2]})`);
  const batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  a = broadcastTo(a, [...batch, ...a.shape.slice(-2)]);
  b = broadcastTo(b, [...batch, ...b.shape.slice(-2)]);
  const nb = batch.length;
  const bd = [...Array(nb).keys()];
  let out = dotGeneral(a, b, { contracting: [[nb + 1], [nb]], batch: [bd, bd] });
  if (aVec || bVec) out = reshape(out, [...batch, ...(aVec ? [] : [out.shape[nb]]), ...(bVec ? [] : [out.shape[out.ndim - 1]])]);
  return out;
}

/** NumPy dot: inner product of vectors, matmul of matrices, sum over a's last and b's second-to-last axis otherwise. */
export function dot(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoted(x, y);
  if (a.ndim === 0 || b.ndim === 0) return mul(a, b);
  const bAxis = b.ndim === 1 ? 0 : b.ndim - 2;
  if (a.shape[a.ndim - 1] !== b.shape[bAxis]) throw new Error(`dot: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} are not aligned`);
  return dotGeneral(a, b, { contracting: [[a.ndim - 1], [bAxis]], batch: [[], []] });
}

export function outer(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteBroadcast("outer", [reshape(asArray(x), [asArray(x).size, 1]), reshape(asArray(y), [1, asArray(y).size])]);
  return mul(a, b);
}

/** Sums products over the given axes of a and b (NumPy tensordot). */
export function tensordot(x: ArrayLike, y: ArrayLike, axes: number | [number[], number[]] = 2): Tracer {
  const [a, b] = promoted(x, y);
  const [ax, bx] =
    typeof axes === "number"
      ? [[...Array(axes).keys()].map((i) => a.ndim - axes + i), [...Array(axes).keys()]]
      : [axes[0].map((i) => normalizeAxis("tensordot", i, a.ndim)), axes[1].map((i) => normalizeAxis("tensordot", i, b.ndim))];
  return dotGeneral(a, b, { contracting: [ax, bx], batch: [[], []] });
}

/**
 * Einstein summation over letters, e.g. "bij,bjk->bik". Operands are combined left to
 * right with dot_general; letters not needed later are summed out early.
 */
export function einsum(subscripts: string, ...operands: ArrayLike[]): Tracer {
  const spec = subscripts.replace(/\s+/g, "");
  const [lhs, rhsGiven] = spec.split("->");
  const inputs = lhs.split(",");
  if (inputs.length !== operands.length) throw new Error(`einsum: "${subscripts}" names ${inputs.length} operands but ${operands.length} were given`);
  const counts = new Map<string, number>();
  for (const s of inputs) for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  const output =
    rhsGiven ??
    [...counts.keys()]
      .filter((c) => counts.get(c) === 1)
      .sort()
      .join("");
  const dtype = resultType(...operands);
  const arrays = operands.map((o) => astype(asArray(o, dtype), dtype));
  arrays.forEach((a, i) => {
    if (!/^[a-zA-Z]*$/.test(inputs[i])) throw new Error(`einsum: only letters are supported in subscripts, got "${inputs[i]}"`);
    if (inputs[i].length !== a.ndim) throw new Error(`einsum: operand ${i} has rank ${a.ndim} but subscripts "${inputs[i]}"`);
    if (new Set(inputs[i]).size !== inputs[i].length) throw new Error(`einsum: repeated subscript in "${inputs[i]}" (diagonals) is not supported`);
  });
  const sizes = new Map<string, number>();
  arrays.forEach((a, i) =>
    [...inputs[i]].forEach((c, k) => {
      const n = sizes.get(c);
      if (n !== undefined && n !== a.shape[k]) throw new Error(`einsum: letter ${c} has sizes ${n} and ${a.shape[k]}`);
      sizes.set(c, a.shape[k]);
    }),
  );
  for (const c of output) if (!sizes.has(c)) throw new Error(`einsum: output letter ${c} does not appear in the inputs`);

  // Sums out letters that no later operand or the output needs.
  const reduceUnneeded = (x: Tracer, letters: string, keep: Set<string>): [Tracer, string] => {
    const drop = [...letters].flatMap((c, i) => (keep.has(c) ? [] : [i]));
    return [reduceSum(x, drop), [...letters].filter((c) => keep.has(c)).join("")];
  };
  const needed = (from: number) => new Set([...output, ...inputs.slice(from).join("")]);

  let [acc, accL] = reduceUnneeded(arrays[0], inputs[0], needed(1));
  for (let i = 1; i < arrays.length; i++) {
    const [b, bL] = reduceUnneeded(arrays[i], inputs[i], new Set([...accL, ...needed(i + 1)]));
    const later = needed(i + 1);
    const shared = [...accL].filter((c) => bL.includes(c));
    const batchL = shared.filter((c) => later.has(c));
    const contractL = shared.filter((c) => !later.has(c));
    acc = dotGeneral(acc, b, {
      contracting: [contractL.map((c) => accL.indexOf(c)), contractL.map((c) => bL.indexOf(c))],
      batch: [batchL.map((c) => accL.indexOf(c)), batchL.map((c) => bL.indexOf(c))],
    });
    accL = [...batchL, ...[...accL].filter((c) => !shared.includes(c)), ...[...bL].filter((c) => !shared.includes(c))].join("");
    [acc, accL] = reduceUnneeded(acc, accL, later);
  }
  return transpose(
    acc,
    [...output].map((c) => accL.indexOf(c)),
  );
}

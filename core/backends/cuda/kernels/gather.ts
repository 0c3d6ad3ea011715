/**
 * scatter_add along one axis, indices clamped into the axis as on the CPU (take is a
 * kernel of the IR: a load at a gathered index).
 * scatter_add copies the operand, then each update element adds itself to its target with
 * `atomicAdd` (float, double, int and unsigned have hardware atomics). Colliding float
 * updates are summed in whatever order the hardware serialises them, so float results can
 * differ from the CPU's sequential sums by rounding; integer results are exact.
 */
import { sizeOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { defineCuda, type Pass } from "../program.ts";
import { blocks, param, perElement, THREADS } from "../cuda-c.ts";

/** C declaring `k`, index j of idx clamped into [0, n), as unsigned. */
function clamped(idx: ShapedArray, n: number): string {
  const last = `${n - 1}u`;
  return idx.dtype === "int32"
    ? `const int v = idx[j];\n  const unsigned k = v < 0 ? 0u : ((unsigned)v > ${last} ? ${last} : (unsigned)v);`
    : `const unsigned v = idx[j];\n  const unsigned k = v > ${last} ? ${last} : v;`;
}

/** outer, n, inner of an operand split at `axis`. */
function split(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

defineCuda("scatter_add", ([op, idx, upd], [out], { axis }) => {
  if (op.dtype === "bool") return null;
  const [outer, n, inner] = split(op.shape, axis);
  const m = sizeOf(idx.shape);
  const size = sizeOf(out.shape);
  const passes: Pass[] = [{
    code: perElement([param("op", op.dtype), param("out", out.dtype, true)], size, "  out[gi] = op[gi];"),
    bindings: [{ in: 0 }, { out: 0 }],
    blocks: blocks(size),
    threads: THREADS,
  }];
  const updates = outer * m * inner;
  if (updates > 0) {
    const body = `  const unsigned o = gi / ${m * inner}u;
  const unsigned j = (gi / ${inner}u) % ${m}u;
  ${clamped(idx, n)}
  atomicAdd(&out[(o * ${n}u + k) * ${inner}u + gi % ${inner}u], upd[gi]);`;
    passes.push({
      code: perElement([param("idx", idx.dtype), param("upd", upd.dtype), param("out", out.dtype, true)], updates, body),
      bindings: [{ in: 1 }, { in: 2 }, { out: 0 }],
      blocks: blocks(updates),
      threads: THREADS,
    });
  }
  return { passes };
});

/**
 * argmax / argmin along one axis (the other reductions go through the IR skeleton).
 * The CPU's rule: the first NaN wins, else the first extreme value (ties keep the lowest
 * index). As a total order on candidates (NaN first, then value, then lower index) it is
 * associative, so a group can split a long axis and combine partial winners.
 */
import { isFloat } from "../../../dtype.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ShapedArray } from "../../../tracer.ts";
import { elementwise, treeFold, type Clike } from "../dialect.ts";
import type { ClikeRule } from "./rule.ts";
import type { RoutineParams } from "../../../routines.ts";

/** Invocations per output in the cooperative kernel. */
const RWG = 256;

/** `aug_beats(v, k, b, j)`: candidate v at index k beats b at index j. */
function beatsFn(d: Clike, dtype: ShapedArray["dtype"], max: boolean, use: Set<string>): string {
  const cmp = max ? ">" : "<";
  const nan = isFloat(dtype) ? `  if (${d.isNan("v", use)} != ${d.isNan("b", use)}) { return ${d.isNan("v", use)}; }\n  if (${d.isNan("v", use)}) { return k < j; }\n` : "";
  const body = `${nan}  if (v ${cmp} b) { return true; }\n  if (b ${cmp} v) { return false; }\n  return k < j;`;
  return d.fn(
    "aug_beats",
    [
      ["v", dtype],
      ["k", "index"],
      ["b", dtype],
      ["j", "index"],
    ],
    "bool",
    body,
  );
}

/** Whether one group per output pays: a long axis and few outputs. */
const cooperative = (n: number, outputs: number) => n >= 1024 && outputs < 4096;

function argRule(max: boolean): ClikeRule<RoutineParams["argmax"]> {
  return (d, [x], [out], { axis }) => {
    const n = x.shape[axis];
    const inner = stridesOf(x.shape)[axis];
    const m = sizeOf(out.shape);
    const use = new Set<string>();
    const fns = [beatsFn(d, x.dtype, max, use)];
    const bufs = [
      { name: "x", dtype: x.dtype },
      { name: "out", dtype: out.dtype, write: true },
    ];
    const bindings = [{ in: 0 }, { out: 0 }];
    const base = (o: string) => d.let("base", "index", `(${o} / ${inner}u) * ${n * inner}u + ${o} % ${inner}u`);
    const step = `  ${d.let("v", x.dtype, d.ld("x", `base + k * ${inner}u`))}
    if (aug_beats(v, k, best, bi)) { best = v; bi = k; }`;
    if (!cooperative(n, m)) {
      // One invocation per output walks the axis, as the CPU does (stopping at a NaN).
      const stop = isFloat(x.dtype) ? `if (${d.isNan("best", use)}) { break; }\n  ` : "";
      const body = `  ${base("gi")}
  ${d.var("best", x.dtype, d.ld("x", "base"))}
  ${d.var("bi", "index", "0u")}
  ${d.loop("k", "1u", `k < ${n}u`, "k += 1u")} {
  ${stop}${step}
  }
  ${d.st("out", "gi", d.cast("bi", "index", out.dtype))}`;
      return { passes: [elementwise(d, bufs, bindings, m, body, use, fns)] };
    }
    // A group per output, each invocation a strided share, then a tree.
    const body = `  ${base("grp")}
  ${d.var("best", x.dtype, d.literal(0, x.dtype))}
  ${d.var("bi", "index", "0u")}
  if (grp < ${m}u) {
    best = ${d.ld("x", `base + lid * ${inner}u`)};
    bi = lid;
    ${d.loop("k", `lid + ${RWG}u`, `k < ${n}u`, `k += ${RWG}u`)} {
    ${step}
    }
  }
  pv[lid] = best;
  pk[lid] = bi;
${treeFold(d, RWG, "if (aug_beats(pv[lid + s], pk[lid + s], pv[lid], pk[lid])) { pv[lid] = pv[lid + s]; pk[lid] = pk[lid + s]; }")}
  if (lid == 0u && grp < ${m}u) { ${d.st("out", "grp", d.cast("pk[0]", "index", out.dtype))} }`;
    const shared: [string, string, number][] = [
      ["pv", d.type(x.dtype), RWG],
      ["pk", d.type("index"), RWG],
    ];
    const code = d.module({ bufs, threads: RWG, body, helpers: use, fns, shared });
    return { passes: [{ code, bindings, groups: Math.max(1, m), threads: RWG }] };
  };
}

export const argmax = argRule(true);
export const argmin = argRule(false);

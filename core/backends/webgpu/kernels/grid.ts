/**
 * Elementwise-style kernels that give each invocation several elements. On lavapipe every
 * workgroup and every invocation has a fixed cost (measured: a copy of 8M floats took 31 ns
 * per element at one element per invocation, 8 ns at four or more), so the data-movement
 * passes of dot, conv and window kernels loop. Invocation t of workgroup w takes elements
 * (w·PER + i)·WG + t for i < PER: neighbouring invocations still touch neighbouring
 * elements, as real GPUs want.
 */
import { groups, LINEAR_WORKGROUP, MAIN_ARGS, NONFINITE, WG } from "../wgsl.ts";

/** Elements per invocation of `perElements`. */
export const PER = 8;

/**
 * A kernel running `body` for each index `gi` in [0, n); the body is a loop body, so it
 * skips an element with `continue`, never `return`.
 */
export function perElements(decls: string[], n: number, body: string): { code: string; workgroups: number } {
  const code = `${[NONFINITE, ...decls].join("\n")}
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  let base = ${LINEAR_WORKGROUP} * ${PER * WG}u + lid;
  for (var i = 0u; i < ${PER}u; i++) {
    let gi = base + i * ${WG}u;
    if (gi >= ${n >>> 0}u) { break; }
${body}
  }
}
`;
  return { code, workgroups: groups(n, PER * WG) };
}

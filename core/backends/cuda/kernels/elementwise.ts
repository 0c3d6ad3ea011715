/**
 * Elementwise primitives the kernel compiler does not lower (everything else in the
 * family goes through the IR renderer).
 */
import { sizeOf } from "../../../shape.ts";
import { defineCuda } from "../program.ts";
import { blocks, perElement, THREADS } from "../cuda-c.ts";

// Between 32-bit dtypes only (the primitive checks), so the bits move as unsigned words.
defineCuda("bitcast_convert_type", (_ins, [out]) => {
  const n = sizeOf(out.shape);
  const params = ["const unsigned* __restrict__ x", "unsigned* __restrict__ out"];
  return { passes: [{ code: perElement(params, n, "  out[gi] = x[gi];"), bindings: [{ in: 0 }, { out: 0 }], blocks: blocks(n), threads: THREADS }] };
});

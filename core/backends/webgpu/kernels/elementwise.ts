/**
 * Elementwise primitives the kernel compiler does not lower (everything else in the
 * family goes through the IR renderer).
 */
import { sizeOf } from "../../../shape.ts";
import { defineWgsl } from "../program.ts";
import { binding, groups, perElement, wgslType } from "../wgsl.ts";

defineWgsl("bitcast_convert_type", ([x], [out]) => {
  const n = sizeOf(out.shape);
  const to = wgslType(out.dtype);
  if (x.dtype === "bool" || out.dtype === "bool") throw new Error("webgpu: bitcast_convert_type of bool is not supported");
  return {
    passes: [{
      code: perElement([binding(0, "x", x.dtype), binding(1, "out", out.dtype, true)], n, `  out[gi] = bitcast<${to}>(x[gi]);`),
      bindings: [{ in: 0 }, { out: 0 }],
      workgroups: groups(n),
    }],
  };
});

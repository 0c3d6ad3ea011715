/**
 * The float32 transcendentals of the CPU kernels (core/backends/cpu/scalar-math.ts): the
 * inline WebAssembly gives the JavaScript run's bits on any input, and after rounding to
 * float32 both give what Math.exp / Math.tanh give (the correctly rounded value, bar the
 * rare input whose exact value sits on a rounding boundary).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { exp32, jsScalarOps, logistic32, tanh32, type ScalarProgram } from "../../../core/backends/cpu/scalar-math.ts";
import { emitScalar } from "../../../core/backends/cpu/wasm/scalar-emit.ts";
import { ModuleBuilder } from "../../../core/backends/cpu/wasm/emit.ts";
import { webAssembly } from "../../../core/backends/cpu/wasm/webassembly.ts";
import { np } from "../../../index.ts";

const PROGRAMS: [string, ScalarProgram, (x: number) => number][] = [
  ["exp", exp32, Math.exp],
  ["tanh", tanh32, Math.tanh],
  ["logistic", logistic32, (x) => 1 / (1 + Math.exp(-x))],
];

/** The program compiled alone: f64 -> f64, the instructions a kernel inlines. */
function wasmOf(program: ScalarProgram): (x: number) => number {
  const m = new ModuleBuilder({ minPages: 1, maxPages: 1 });
  const f = m.fn("run", ["f64"], ["f64"]);
  f.get(0);
  emitScalar(f, program);
  const instance = new webAssembly.Instance(new webAssembly.Module(m.bytes()), { env: { memory: new webAssembly.Memory({ initial: 1, maximum: 1, shared: true }) } });
  return instance.exports.run as (x: number) => number;
}

const f32 = Math.fround;
/** Float32 values from their bits: every sign, exponent and NaN payload. */
const anyFloat32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((bits) => new Float32Array(new Int32Array([bits]).buffer)[0]);
const EDGES = [0, -0, Infinity, -Infinity, NaN, 88.72283, 88.72284, -87.33654, -103.27893, -103.972, -150, 150, 1e-30, -1e-30, 0.125, -0.125, 0.12499999, 2 ** -149, -(2 ** -149), 20, -20, 1e-8];

describe("float32 transcendentals written once for JavaScript and WebAssembly", () => {
  for (const [name, program, reference] of PROGRAMS) {
    const wasm = wasmOf(program);
    const js = (x: number) => program(jsScalarOps, x);

    it(`${name}: the inline WebAssembly gives the JavaScript bits (property, and edge values)`, () => {
      const same = (x: number) => Object.is(wasm(x), js(x));
      for (const x of EDGES) expect(same(x), `${name}(${x})`).toBe(true);
      fc.assert(fc.property(anyFloat32, same), { numRuns: 20000 });
      fc.assert(fc.property(fc.double({ min: -30, max: 30 }), same), { numRuns: 20000 });
    });

    it(`${name}: rounded to float32, the value Math gives`, () => {
      for (const x of EDGES) expect(Object.is(f32(js(x)), f32(reference(x))), `${name}(${x}) = ${f32(js(x))}, Math: ${f32(reference(x))}`).toBe(true);
      // At most one float32 ulp apart anywhere, and in a sample of 20,000 at most 2 differ at all.
      let differ = 0;
      fc.assert(
        fc.property(anyFloat32, (x) => {
          const [a, b] = [f32(js(x)), f32(reference(x))];
          if (Object.is(a, b)) return true;
          differ++;
          return Math.abs(a - b) <= Math.abs(b) * 2 ** -23;
        }),
        { numRuns: 20000 },
      );
      expect(differ).toBeLessThanOrEqual(2);
    });
  }

  it("np.exp, np.tanh and np.sigmoid give Math's values, rounded for float32 arrays", () => {
    const xs = [-3.5, -0.1, 0, 0.05, 0.7, 2.25, 9];
    const at = (dtype: "float32" | "float64") => np.array(xs, { dtype });
    for (const [name, fn] of [
      ["exp", np.exp],
      ["tanh", np.tanh],
      ["logistic", np.sigmoid],
    ] as const) {
      const reference = PROGRAMS.find((p) => p[0] === name)![2];
      expect(Array.from(fn(at("float32")).dataSync())).toEqual(xs.map((x) => f32(reference(x))));
      expect(Array.from(fn(at("float64")).dataSync())).toEqual(xs.map(reference));
    }
  });
});

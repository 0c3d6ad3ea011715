/**
 * The float32 transcendentals of the CPU kernels (core/backends/cpu/scalar-math.ts): on any
 * float32 input the JavaScript run, the inline f32 WebAssembly and the f32x4 lanes give the
 * same bits; each stays within a couple of float32 ulp of the float64 value Math gives, and
 * keeps the IEEE special values.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { exp32, jsScalarOps, log32, logistic32, tanh32, type ScalarProgram } from "../../../core/backends/cpu/scalar-math.ts";
import { emitScalar, emitScalarLanes } from "../../../core/backends/cpu/wasm/scalar-emit.ts";
import { ModuleBuilder } from "../../../core/backends/cpu/wasm/emit.ts";
import { webAssembly } from "../../../core/backends/cpu/wasm/webassembly.ts";
import { np } from "../../../index.ts";

const logistic64 = (x: number) => 1 / (1 + Math.exp(-x));
/** Each program, its float64 reference, and the most float32 ulp it may be off (over every 97th float32: 0.99, 1.50, 2.28 and 0.78). */
const PROGRAMS: [string, ScalarProgram, (x: number) => number, number][] = [
  ["exp", exp32, Math.exp, 1.25],
  ["tanh", tanh32, Math.tanh, 2],
  ["logistic", logistic32, logistic64, 2.5],
  ["log", log32, Math.log, 1],
];

const f32 = Math.fround;

/** The program compiled alone both ways: x -> the scalar form's result, and x -> the four-lane form's (one lane per input). */
function wasmOf(program: ScalarProgram): { scalar: (x: number) => number; lanes: (xs: Float32Array) => Float32Array } {
  const m = new ModuleBuilder({ minPages: 1, maxPages: 1 });
  const s = m.fn("scalar", ["f64"], ["f64"]);
  s.get(0);
  emitScalar(s, program);
  // Four float32s at byte 0 in, four out at byte 16.
  const v = m.fn("lanes", [], []);
  v.i32(16).i32(0).mem("v128.load");
  emitScalarLanes(v, program);
  v.mem("v128.store");
  const memory = new webAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const exports = new webAssembly.Instance(new webAssembly.Module(m.bytes()), { env: { memory } }).exports;
  const io = new Float32Array(memory.buffer, 0, 8);
  return {
    scalar: exports.scalar as (x: number) => number,
    lanes: (xs) => {
      io.set(xs);
      (exports.lanes as () => void)();
      return io.slice(4, 8);
    },
  };
}

/** Float32 values from their bits: every sign, exponent and NaN payload. */
const anyFloat32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((bits) => new Float32Array(new Int32Array([bits]).buffer)[0]);
/** Float32 values where the functions change most. */
const moderate = fc.double({ min: -20, max: 20, noNaN: true }).map(f32);
const EDGES = [0, -0, Infinity, -Infinity, NaN, 88.72283, 88.72284, 89, -87.33654, -103.27893, -103.972, -104, -150, 150, 1e-30, -1e-30];
const EDGES32 = [
  ...EDGES,
  0.625,
  -0.625,
  0.62499994,
  2 ** -149,
  -(2 ** -149),
  2 ** -126,
  2 ** -127,
  20,
  -20,
  1e-8,
  3.4028234663852886e38,
  -3.4028234663852886e38,
  1,
  2,
  0.5,
  Math.SQRT2,
  Math.SQRT1_2,
].map(f32);

/** |got - exact| in float32 ulp of the exact value (the subnormal ulp below 2^-126); non-finite results must match exactly. */
function ulpError(got: number, exact: number): number {
  const rounded = f32(exact);
  if (!Number.isFinite(rounded) || !Number.isFinite(got)) return Object.is(got, rounded) ? 0 : Infinity;
  const exponent = exact === 0 ? -126 : Math.max(-126, Math.floor(Math.log2(Math.abs(exact))));
  return Math.abs(got - exact) / 2 ** (exponent - 23);
}

describe("float32 transcendentals written once for JavaScript, f32 and f32x4 WebAssembly", () => {
  for (const [name, program, reference, maxUlp] of PROGRAMS) {
    const wasm = wasmOf(program);
    const js = (x: number) => program(jsScalarOps, x);

    it(`${name}: the f32 and f32x4 WebAssembly give the JavaScript bits (property, and edge values)`, () => {
      const same = (xs: number[]) => {
        const lanes = wasm.lanes(new Float32Array(xs));
        return xs.every((x, i) => Object.is(wasm.scalar(x), js(x)) && Object.is(lanes[i], js(x)));
      };
      for (let i = 0; i < EDGES32.length; i += 4) {
        const xs = EDGES32.slice(i, i + 4);
        expect(same([...xs, 0, 0, 0].slice(0, 4)), `${name}(${xs})`).toBe(true);
      }
      fc.assert(fc.property(fc.tuple(anyFloat32, anyFloat32, moderate, moderate), same), { numRuns: 10000 });
    });

    it(`${name}: within ${maxUlp} float32 ulp of Math's float64 value, with its special values`, () => {
      for (const x of EDGES32) expect(ulpError(js(x), reference(x)), `${name}(${x}) = ${js(x)}, Math: ${reference(x)}`).toBeLessThanOrEqual(maxUlp);
      let worst = 0;
      fc.assert(
        fc.property(fc.oneof(anyFloat32, moderate), (x) => {
          worst = Math.max(worst, ulpError(js(x), reference(x)));
          return worst <= maxUlp;
        }),
        { numRuns: 30000 },
      );
      // A bound that nothing reaches would not test the program.
      expect(worst).toBeGreaterThan(0.5);
    });
  }

  it("exp overflows to Infinity and underflows through the subnormals to 0; tanh and the logistic saturate exactly", () => {
    const exp = (x: number) => exp32(jsScalarOps, x);
    const tanh = (x: number) => tanh32(jsScalarOps, x);
    const logistic = (x: number) => logistic32(jsScalarOps, x);
    expect([exp(89), exp(Infinity), exp(-104), exp(-Infinity), exp(0)]).toEqual([Infinity, Infinity, 0, 0, 1]);
    expect(exp(-100)).toBeGreaterThan(0);
    expect(exp(-100)).toBeLessThan(2 ** -126);
    expect([tanh(10), tanh(-10), tanh(Infinity), tanh(-Infinity)]).toEqual([1, -1, 1, -1]);
    expect(Object.is(tanh(-0), -0)).toBe(true);
    expect([logistic(30), logistic(Infinity), logistic(-110), logistic(-Infinity), logistic(0)]).toEqual([1, 1, 0, 0, 0.5]);
    for (const p of [exp, tanh, logistic]) expect(p(NaN)).toBeNaN();
  });

  it("log: -Infinity at both zeros, NaN below zero and for NaN, Infinity at Infinity, 0 at 1", () => {
    const log = (x: number) => log32(jsScalarOps, x);
    expect([log(0), log(-0), log(Infinity), log(1)]).toEqual([-Infinity, -Infinity, Infinity, 0]);
    for (const x of [-1, -(2 ** -149), -Infinity, NaN]) expect(log(x)).toBeNaN();
  });

  it("np.exp, np.tanh, np.sigmoid and np.log: float32 arrays give the programs' values, float64 arrays Math's", () => {
    const xs = [-3.5, -0.1, 0, 0.05, 0.7, 2.25, 9];
    const at = (dtype: "float32" | "float64") => np.array(xs, { dtype });
    for (const [name, fn] of [
      ["exp", np.exp],
      ["tanh", np.tanh],
      ["logistic", np.sigmoid],
      ["log", np.log],
    ] as const) {
      const [, program, reference] = PROGRAMS.find((p) => p[0] === name)!;
      expect(Array.from(fn(at("float32")).dataSync())).toEqual(xs.map((x) => program(jsScalarOps, f32(x))));
      expect(Array.from(fn(at("float64")).dataSync())).toEqual(xs.map(reference));
    }
  });
});

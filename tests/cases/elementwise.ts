/** Property cases for core/primitives/elementwise.ts: inputs drawn from each op's valid domain. */
import { fromTyped, type NDArray } from "../../core/array.ts";
import type { DType } from "../../core/dtype.ts";
import type { PrimCase, Rng } from "./types.ts";

/** Values with |v| in [lo, hi) and a random sign: divisors, atan2 operands. */
export function awayFromZero(rng: Rng, shape: number[], lo = 0.5, hi = 2): NDArray {
  const mag = rng.array(shape, "float64", lo, hi).dataSync();
  const sgn = rng.array(shape, "bool").dataSync();
  return fromTyped(
    mag.map((v, i) => (sgn[i] ? v : -v)),
    shape,
    "float64",
  );
}

/** Values of either sign with magnitudes from 1e-8 to 1e4 on a log scale: where saturating functions flatten out or act as the identity. */
function wideMagnitudes(rng: Rng, shape: number[]): NDArray {
  const exps = rng.array(shape, "float64", -8, 4).dataSync();
  const sgn = rng.array(shape, "bool").dataSync();
  return fromTyped(
    exps.map((e, i) => (sgn[i] ? 1 : -1) * 10 ** e),
    shape,
    "float64",
  );
}

const unary = (prim: string, lo: number, hi: number, extra: Partial<PrimCase> = {}): PrimCase => ({
  prim,
  make: (rng) => ({ args: [rng.array(rng.shape(), "float64", lo, hi)], params: {} }),
  ...extra,
});

const binary = (prim: string, lo: number, hi: number, extra: Partial<PrimCase> = {}): PrimCase => ({
  prim,
  make: (rng) => {
    const s = rng.shape();
    return { args: [rng.array(s, "float64", lo, hi), rng.array(s, "float64", lo, hi)], params: {} };
  },
  ...extra,
});

/** Integer variants exercise the int kernels (Math.imul, truncating division, ...) under vmap and jit. */
const INT_SKIP = { jvp: "integer inputs: nothing to differentiate", grad: "integer inputs: nothing to differentiate", transpose: "integer inputs: not a linear map over a float space" };
const BOOL_OUT = { grad: "the output is bool or integer, so sum(out * ct) has no gradient to compare" };

const intCase = (prim: string, arity: number, lo = -5, hi = 6, rhs?: [number, number]): PrimCase => ({
  prim,
  skip: INT_SKIP,
  make: (rng) => {
    const s = rng.shape();
    const args = [rng.array(s, "int32", lo, hi)];
    if (arity === 2) args.push(rng.array(s, "int32", ...(rhs ?? [lo, hi])));
    return { args, params: {} };
  },
});

const compare = (prim: string): PrimCase => ({
  prim,
  skip: BOOL_OUT,
  make: (rng) => {
    const s = rng.shape();
    const dtype = rng.pick<DType>(["float64", "int32", "bool"]);
    // Small integer ranges so equal elements occur; floats are continuous.
    return { args: [rng.array(s, dtype, -2, 3), rng.array(s, dtype, -2, 3)], params: {} };
  },
});

const bitwise = (prim: string): PrimCase => ({
  prim,
  skip: BOOL_OUT,
  make: (rng) => {
    const s = rng.shape();
    const dtype = rng.pick<DType>(["int32", "bool"]);
    return { args: [rng.array(s, dtype, -1000, 1000), rng.array(s, dtype, -1000, 1000)], params: {} };
  },
});

const shift = (prim: string): PrimCase => ({
  prim,
  skip: BOOL_OUT,
  make: (rng) => {
    const s = rng.shape();
    // Shift counts past 31 and negative counts give 0, as XLA's shifts do.
    return { args: [rng.array(s, "int32", -1 << 30, 1 << 30), rng.array(s, "int32", -2, 35)], params: {} };
  },
});

export const cases: PrimCase[] = [
  // ---------------------------------------------------------------- unary float
  unary("neg", -2, 2),
  unary("exp", -1, 1),
  unary("log", 0.5, 2),
  unary("log1p", -0.5, 1),
  unary("expm1", -1, 1),
  unary("sqrt", 0.5, 2),
  unary("rsqrt", 0.5, 2),
  unary("sin", -3, 3),
  unary("cos", -3, 3),
  unary("tan", -1.2, 1.2),
  unary("tanh", -2, 2),
  unary("logistic", -3, 3),
  // Saturation (+-90 and beyond overflow a naive exp form) and tiny arguments (where 1 - e^-2x cancels).
  { prim: "tanh", make: (rng) => ({ args: [wideMagnitudes(rng, rng.shape())], params: {} }) },
  { prim: "logistic", make: (rng) => ({ args: [wideMagnitudes(rng, rng.shape())], params: {} }) },
  // Both branches of the kernel: the series (|x| < 2.5) and the continued fraction.
  unary("erf", -3.5, 3.5),
  unary("erf_inv", -0.9, 0.9),
  { prim: "abs", make: (rng) => ({ args: [awayFromZero(rng, rng.shape(), 0.01, 2)], params: {} }) },
  unary("sign", -2, 2),
  unary("floor", -3, 3),
  unary("ceil", -3, 3),
  unary("round", -3, 3),
  {
    prim: "is_finite",
    skip: BOOL_OUT,
    make: (rng) => {
      const s = rng.shape();
      const x = rng.array(s, "float64", -3, 3).dataSync();
      const special = rng.array(s, "int32", 0, 6).dataSync();
      const v = x.map((e, i) => [Infinity, -Infinity, NaN][special[i]] ?? e);
      return { args: [fromTyped(v, s, "float64")], params: {} };
    },
  },
  {
    prim: "not",
    skip: BOOL_OUT,
    make: (rng) => ({ args: [rng.array(rng.shape(), rng.pick<DType>(["int32", "bool"]), -100, 100)], params: {} }),
  },
  // ---------------------------------------------------------------- binary float
  binary("add", -2, 2),
  binary("sub", -2, 2),
  binary("mul", -2, 2),
  {
    prim: "div",
    make: (rng) => {
      const s = rng.shape();
      return { args: [rng.array(s, "float64", -2, 2), awayFromZero(rng, s)], params: {} };
    },
    linearArgs: [0],
  },
  {
    prim: "rem",
    make: (rng) => {
      const s = rng.shape();
      return { args: [rng.array(s, "float64", -3, 3), awayFromZero(rng, s)], params: {} };
    },
  },
  {
    prim: "pow",
    make: (rng) => {
      const s = rng.shape();
      return { args: [rng.array(s, "float64", 0.5, 2), rng.array(s, "float64", -2, 2)], params: {} };
    },
  },
  binary("max", -2, 2),
  binary("min", -2, 2),
  {
    prim: "atan2",
    make: (rng) => {
      const s = rng.shape();
      return { args: [awayFromZero(rng, s, 0.2, 2), awayFromZero(rng, s, 0.2, 2)], params: {} };
    },
  },
  // ---------------------------------------------------------------- integer arithmetic
  intCase("neg", 1),
  intCase("abs", 1),
  intCase("sign", 1),
  intCase("add", 2, -1 << 30, 1 << 30),
  intCase("sub", 2, -1 << 30, 1 << 30),
  intCase("mul", 2, -1 << 30, 1 << 30),
  intCase("div", 2, -20, 21, [-4, 5]),
  intCase("rem", 2, -20, 21, [-4, 5]),
  intCase("pow", 2, -3, 4, [-2, 6]),
  intCase("max", 2),
  intCase("min", 2),
  // ---------------------------------------------------------------- comparisons, logic, bits
  compare("eq"),
  compare("ne"),
  compare("lt"),
  compare("le"),
  compare("gt"),
  compare("ge"),
  bitwise("and"),
  bitwise("or"),
  bitwise("xor"),
  shift("shift_left"),
  shift("shift_right_logical"),
  // ---------------------------------------------------------------- select and conversions
  {
    prim: "select",
    make: (rng) => {
      const s = rng.shape();
      return { args: [rng.array(s, "bool"), rng.array(s, "float64", -2, 2), rng.array(s, "float64", -2, 2)], params: {} };
    },
  },
  {
    prim: "convert_element_type",
    make: (rng) => {
      const s = rng.shape();
      const from = rng.pick<DType>(["float64", "float64", "int32", "bool"]);
      const newDtype = rng.pick<DType>(["float64", "int32", "bool", "float32"]);
      return { args: [rng.array(s, from, -5, 5)], params: { newDtype } };
    },
  },
  {
    prim: "bitcast_convert_type",
    make: (rng) => {
      const s = rng.shape();
      const from = rng.pick<DType>(["float32", "int32", "uint32"]);
      const newDtype = rng.pick<DType>(["float32", "int32", "uint32"]);
      // Non-negative ints below 2^23 are float32 denormals or small normals, never NaN patterns.
      return { args: [from === "float32" ? rng.array(s, "float32", -1e6, 1e6) : rng.array(s, from, 0, 1 << 23)], params: { newDtype } };
    },
  },
  unary("stop_gradient", -2, 2),
];

/** Shape and dtype mistakes throw at the call, naming the operation and the shapes. */
import { describe, expect, it } from "vitest";
import { np, lax, jit, vmap, grad, type Array, type NDArray } from "../../index.ts";
import { onWebgpu } from "../backend-under-test.ts";

const f32 = (shape: number[]) => np.zeros(shape);
const i32 = (shape: number[]) => np.zeros(shape, { dtype: "int32" });

describe("elementwise", () => {
  it("np functions name the op and both shapes when they do not broadcast", () => {
    expect(() => np.add(f32([3, 4]), f32([5]))).toThrow("add: cannot broadcast [3,4] with [5]");
    expect(() => np.mul(f32([2, 1, 3]), f32([4, 2]))).toThrow("mul: cannot broadcast [2,1,3] with [4,2]");
    expect(() => f32([3]).sub(f32([2]))).toThrow("sub: cannot broadcast [3] with [2]");
    expect(() => np.less(f32([3]), f32([2]))).toThrow("less: cannot broadcast [3] with [2]");
    expect(() => np.where(f32([2]), f32([3]), 0)).toThrow(/where: cannot broadcast \[2\] with \[3\]/);
    expect(() => np.broadcastTo(f32([3]), [4])).toThrow(/broadcastTo: cannot broadcast \[3\]/);
    expect(() => np.broadcastTo(f32([2, 3]), [3])).toThrow(/broadcastTo: cannot broadcast \[2,3\] to \[3\]/);
  });

  it("lax functions reject differing shapes and dtypes, and wrong dtype classes", () => {
    expect(() => lax.add(f32([2]), f32([3]))).toThrow("add: operand shapes [2] and [3] differ");
    expect(() => lax.mul(f32([2]), i32([2]))).toThrow("mul: operand dtypes float32 and int32 differ");
    expect(() => lax.sin(i32([2]))).toThrow("sin: dtype int32 is not supported (needs a floating dtype)");
    expect(() => lax.and(f32([2]), f32([2]))).toThrow("and: dtype float32 is not supported (needs intOrBool)");
    expect(() => lax.select(f32([2]), f32([2]), f32([2]))).toThrow("select: predicate must be bool, got float32");
    expect(() => lax.select(np.zeros([3], { dtype: "bool" }), f32([2]), f32([2]))).toThrow("select: predicate shape [3] differs from operand shape [2]");
    expect(() => lax.bitcastConvertType(np.zeros([2], { dtype: "bool" }), "int32")).toThrow("bitcast_convert_type: only between 32-bit dtypes, got bool -> int32");
  });

  it("errors surface the same way while jit traces", () => {
    expect(() => jit((a: Array, b: Array) => np.add(a, b))(f32([3, 4]), f32([5]))).toThrow("add: cannot broadcast [3,4] with [5]");
    expect(() => vmap((a: Array, b: Array) => np.add(a, b))(f32([2, 3]), f32([2, 4]))).toThrow("add: cannot broadcast [3] with [4]");
  });
});

describe("shape manipulation", () => {
  it("reshape size mismatch", () => {
    expect(() => np.reshape(f32([2, 3]), [4])).toThrow("reshape: cannot reshape [2,3] (size 6) into [4]");
    expect(() => np.reshape(f32([2, 3]), [4, -1])).toThrow("reshape: cannot reshape [2,3] (size 6) into [4,-1]");
    expect(() => np.reshape(f32([2, 3]), [-1, -1])).toThrow("reshape: invalid shape [-1,-1]");
    expect(() => lax.reshape(f32([2, 3]), [5])).toThrow("reshape: cannot reshape [2,3] (size 6) into [5]");
  });

  it("transpose with a bad permutation", () => {
    expect(() => np.transpose(f32([2, 3]), [0, 0])).toThrow("transpose: axes [0,0] are not a permutation of the 2 axes of [2,3]");
    expect(() => np.transpose(f32([2, 3]), [0])).toThrow("transpose: axes [0] are not a permutation of the 2 axes of [2,3]");
    expect(() => np.transpose(f32([2, 3]), [0, 5])).toThrow("transpose: axis 5 is out of bounds for an array of rank 2");
  });

  it("concatenate, stack and split with mismatched shapes", () => {
    expect(() => np.concatenate([f32([2, 3]), f32([3, 4])], { axis: 1 })).toThrow("concatenate: shapes [2,3], [3,4] differ outside axis 1");
    expect(() => np.concatenate([f32([2, 3]), f32([3])])).toThrow("concatenate: shapes [2,3], [3] differ outside axis 0");
    expect(() => np.concatenate([f32([2])], { axis: 1 })).toThrow("concatenate: axis 1 is out of bounds for an array of rank 1");
    expect(() => np.concatenate([f32([]), f32([])])).toThrow(/zero-dimensional arrays cannot be concatenated/);
    expect(() => np.stack([f32([2]), f32([3])])).toThrow("stack: all arrays need the same shape, got [2], [3]");
    expect(() => np.split(f32([5]), 2)).toThrow("split: axis 0 of size 5 does not divide into 2 equal sections");
  });

  it("expandDims, squeeze, pad, flip, roll and slicing check their axes", () => {
    expect(() => np.squeeze(f32([2, 3]), 0)).toThrow("squeeze: axis 0 of [2,3] has size 2, not 1");
    expect(() => np.expandDims(f32([2]), 3)).toThrow("expandDims: axis 3 is out of bounds for an array of rank 2");
    expect(() => np.pad(f32([2]), [[1, -1]])).toThrow(/pad: padWidth \[\[1,-1\]\] must give non-negative \[before, after\] for each of the 1 axes/);
    expect(() => np.flip(f32([2]), { axis: 1 })).toThrow("flip: axis 1 is out of bounds for an array of rank 1");
    expect(() => np.roll(f32([2]), 1, { axis: -2 })).toThrow("roll: axis -2 is out of bounds for an array of rank 1");
    expect(() => f32([2, 2]).slice(0, 0, 0)).toThrow("slice: 3 indices for an array of rank 2");
  });

  it("lax shape primitives name the shapes and params", () => {
    expect(() => lax.broadcastInDim(f32([3]), [2, 4], [1])).toThrow("broadcast_in_dim: cannot broadcast [3] to [2,4] along dims [1]");
    expect(() => lax.slice(f32([4]), [1], [5])).toThrow("slice: [1:5:1] is out of range for axis 0 of [4]");
    expect(() => lax.pad(f32([2]), np.zeros([], { dtype: "int32" }), [[1, 0, 0]])).toThrow("pad: padding value must be a scalar of dtype float32, got int32[]");
    expect(() => lax.pad(f32([2]), np.zeros([]), [[-3, 0, 0]])).toThrow("pad: config [-3,0,0] is invalid for axis 0 of [2]");
    expect(() => lax.rev(f32([2]), [1])).toThrow("rev: axes [1] out of range for [2]");
  });
});

describe("products", () => {
  it("matmul and dot inner-dimension mismatch", () => {
    expect(() => np.matmul(f32([2, 3]), f32([4, 5]))).toThrow("matmul: inner dimensions differ: [2,3] @ [4,5] (3 vs 4)");
    expect(() => np.matmul(f32([2, 2, 3]), f32([3, 3, 1]))).toThrow("matmul: cannot broadcast [2] with [3]");
    expect(() => np.matmul(f32([]), f32([3]))).toThrow(/matmul: operands must be at least 1-D/);
    expect(() => np.dot(f32([2, 3]), f32([2]))).toThrow("dot: shapes [2,3] and [2] are not aligned");
    expect(() => f32([3]).dot(f32([4]))).toThrow("dot: shapes [3] and [4] are not aligned");
  });

  it("dot_general checks its dimension numbers", () => {
    const dims = { contracting: [[1], [0]] as [number[], number[]], batch: [[], []] as [number[], number[]] };
    expect(() => lax.dotGeneral(f32([2, 3]), f32([4, 5]), dims)).toThrow("dot_general of [2,3] and [4,5]: contracting sizes 3 (lhs axis 1) and 4 (rhs axis 0) differ");
    expect(() => lax.dotGeneral(f32([2, 3]), i32([3, 5]), dims)).toThrow("dot_general of [2,3] and [3,5]: dtypes float32 and int32 differ");
    expect(() => lax.dotGeneral(f32([2, 3]), f32([3, 5]), { contracting: [[2], [0]], batch: [[], []] })).toThrow(/dot_general of \[2,3\] and \[3,5\]: axes .* are invalid/);
    expect(() => lax.dotGeneral(f32([2, 3]), f32([3, 3]), { contracting: [[1], [0]], batch: [[0], [1]] })).toThrow("dot_general of [2,3] and [3,3]: batch sizes 2 and 3 differ");
  });

  it("einsum names the problem", () => {
    expect(() => np.einsum("ij,jk->ik", f32([2, 3]), f32([4, 5]))).toThrow("einsum: letter j has sizes 3 and 4");
    expect(() => np.einsum("ij,jk", f32([2, 3]))).toThrow(/einsum: "ij,jk" names 2 operands but 1 were given/);
    expect(() => np.einsum("ijk", f32([2, 3]))).toThrow(/einsum: operand 0 has rank 2 but subscripts "ijk"/);
    expect(() => np.einsum("ij->iz", f32([2, 3]))).toThrow("einsum: output letter z does not appear in the inputs");
  });
});

describe("indexing", () => {
  it("take rejects float indices and bad axes", () => {
    expect(() => np.take(f32([3]), np.array([0.5, 1]))).toThrow("take: indices must be integers, got float32");
    expect(() => np.take(f32([3]), np.array([0, 1], { dtype: "float64", backend: "cpu" }))).toThrow("take: indices must be integers, got float64");
    expect(() => lax.gather(f32([3]), f32([1]), 0)).toThrow("take: indices must be int32 or uint32, got float32");
    expect(() => np.take(f32([3]), [0], { axis: 1 })).toThrow("take: axis 1 is out of bounds for an array of rank 1");
    expect(() => np.takeAlongAxis(f32([3, 2]), i32([3]), { axis: 0 })).toThrow("takeAlongAxis: indices [3] must have the rank of the array [3,2]");
    expect(() => lax.scatterAdd(f32([3]), i32([2]), f32([3]), 0)).toThrow("scatter_add: updates float32[3] must be float32[2] for operand [3] and indices [2]");
  });
});

describe("reductions", () => {
  it("reductions over an out-of-range axis", () => {
    expect(() => np.sum(f32([2, 3]), { axis: 2 })).toThrow("sum: axis 2 is out of bounds for an array of rank 2");
    expect(() => np.max(f32([2, 3]), { axis: -3 })).toThrow("max: axis -3 is out of bounds for an array of rank 2");
    expect(() => np.mean(f32([2, 3]), { axis: [0, 0] })).toThrow("mean: repeated axis in [0,0]");
    expect(() => np.argmax(f32([2, 3]), { axis: 2 })).toThrow("argmax: axis 2 is out of bounds for an array of rank 2");
    expect(() => np.logsumexp(f32([2]), { axis: 1 })).toThrow("logsumexp: axis 1 is out of bounds for an array of rank 1");
    expect(() => lax.reduceSum(f32([2, 3]), [2])).toThrow("reduce_sum: axes [2] must be sorted, unique and within the rank of [2,3]");
    expect(() => lax.reduceMax(f32([2, 3]), [1, 0])).toThrow("reduce_max: axes [1,0] must be sorted, unique and within the rank of [2,3]");
    expect(() => lax.reduceSum(np.zeros([2], { dtype: "bool" }), [0])).toThrow(/reduce_sum: bool arrays must be cast/);
    expect(() => lax.argmax(f32([0, 2]), 0)).toThrow("argmax: cannot take argmax of an empty axis");
  });
});

describe("arrays", () => {
  it("use after dispose names the array", async () => {
    const x = np.ones([2, 3]) as NDArray;
    x.dispose();
    expect(() => x.dataSync()).toThrow("array float32[2,3] was used after dispose()");
    expect(() => np.add(x, 1)).toThrow("array float32[2,3] was used after dispose()");
    expect(String(x)).toBe("Array(float32[2,3], disposed)");
    {
      using y = np.zeros([1]) as NDArray;
      expect((await y.data())[0]).toBe(0);
      // WebGPU reads asynchronously only, and says so.
      if (onWebgpu) expect(() => y.dataSync()).toThrow('dataSync: backend "webgpu" reads asynchronously; use await x.data()');
    }
  });

  it("ragged data, bad dtypes and bad shapes", () => {
    expect(() => np.array([[1, 2], [3]])).toThrow(/array: ragged nested data/);
    expect(() => np.zeros([2], { dtype: "float16" as never })).toThrow(/unknown dtype "float16"/);
    expect(() => np.zeros([-1])).toThrow("full: shape must be an array of non-negative integers, got [-1]");
    expect(() => np.ones([2]).item()).toThrow("item: array float32[2] has 2 elements, expected 1");
  });

  it("grad of a non-float or non-scalar function", () => {
    expect(() => grad((x: Array) => np.sum(x))(i32([2]))).toThrow(/grad: input leaf 0 has dtype int32/);
  });
});

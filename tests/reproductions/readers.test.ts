/** The .npy / .npz / .mat / idx readers on hand-built files: round trips and clean failures. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DataError, parseIdx, parseMat, parseNpy, parseNpz } from "../../reproductions/datasets/index.ts";
import { bytesOf, idxBytes, matBytes, npyBytes, zipBytes } from "./fixtures.ts";

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 });
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Row-major values -> column-major storage (what Fortran order writes). */
function toFortran<T>(values: T[], shape: number[]): T[] {
  const out = new Array<T>(values.length);
  const nd = shape.length;
  values.forEach((v, c) => {
    let rem = c;
    let f = 0;
    let fs = 1;
    const idx = new Array<number>(nd);
    for (let d = nd - 1; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    for (let d = 0; d < nd; d++) {
      f += idx[d] * fs;
      fs *= shape[d];
    }
    out[f] = v;
  });
  return out;
}

describe("npy", () => {
  it("round-trips every supported dtype, C and Fortran order, versions 1 and 2", () => {
    fc.assert(
      fc.property(shapeArb, fc.boolean(), fc.constantFrom<1 | 2>(1, 2), fc.integer({ min: 0, max: 1e6 }), (shape, fortran, version, seed) => {
        const n = size(shape);
        const vals = Array.from({ length: n }, (_, i) => ((i * 7919 + seed) % 251) - 100);
        const stored = fortran ? toFortran(vals, shape) : vals;
        const cases: [string, Uint8Array, (v: number) => number][] = [
          ["<f4", bytesOf(Float32Array.from(stored, (v) => v / 8)), (v) => v / 8],
          ["<f8", bytesOf(Float64Array.from(stored, (v) => v / 3)), (v) => v / 3],
          ["<i4", bytesOf(Int32Array.from(stored)), (v) => v],
          ["<i8", bytesOf(BigInt64Array.from(stored, (v) => BigInt(v))), (v) => v],
          ["|u1", Uint8Array.from(stored, (v) => v + 100), (v) => v + 100],
          ["<u1", Uint8Array.from(stored, (v) => v + 100), (v) => v + 100],
          ["|b1", Uint8Array.from(stored, (v) => (v > 0 ? 1 : 0)), (v) => (v > 0 ? 1 : 0)],
        ];
        for (const [descr, payload, expected] of cases) {
          const a = parseNpy(npyBytes(descr, shape, payload, { fortran, version }), "t.npy");
          expect(a.descr).toBe(descr);
          expect(a.shape).toEqual(shape);
          expect(Array.from(a.data)).toEqual(vals.map(expected));
        }
      }),
      { numRuns: 40 },
    );
  });

  it("reads a payload at an odd offset in a larger buffer (as Node's pooled Buffers give)", () => {
    const file = npyBytes("<i8", [3], bytesOf(BigInt64Array.from([1n, -2n, 3n])));
    const big = new Uint8Array(file.length + 5);
    big.set(file, 3);
    expect(Array.from(parseNpy(big.subarray(3, 3 + file.length), "t.npy").data)).toEqual([1, -2, 3]);
  });

  it("rejects bad magic, truncated data, unsupported dtypes and int64 beyond int32", () => {
    const good = npyBytes("<f4", [4], bytesOf(new Float32Array(4)));
    const bad = good.slice();
    bad[1] = 0x41;
    expect(() => parseNpy(bad, "x.npy")).toThrow(/x\.npy.*bad magic/);
    expect(() => parseNpy(good.subarray(0, good.length - 1), "x.npy")).toThrow(/truncated data/);
    expect(() => parseNpy(npyBytes(">f4", [1], new Uint8Array(4)), "x.npy")).toThrow(/unsupported dtype >f4/);
    expect(() => parseNpy(npyBytes("<i8", [1], bytesOf(BigInt64Array.from([2n ** 40n]))), "x.npy")).toThrow(DataError);
  });
});

describe("npz", () => {
  const arrays = {
    a: { descr: "<f8", shape: [2, 3], data: Float64Array.from([0, 0.5, 1, 1.5, 2, 2.5]) },
    labels: { descr: "|u1", shape: [4], data: Uint8Array.from([3, 1, 4, 1]) },
  };
  const entries = Object.entries(arrays).map(([k, v]) => ({ name: `${k}.npy`, data: npyBytes(v.descr, v.shape, bytesOf(v.data)) }));

  for (const opts of [{}, { deflate: true }, { zip64: true }, { deflate: true, zip64: true }]) {
    it(`round-trips a ${opts.deflate ? "deflated" : "stored"}${opts.zip64 ? " zip64" : ""} archive`, () => {
      const out = parseNpz(zipBytes(entries, opts), "t.npz");
      expect(Object.keys(out).sort()).toEqual(["a", "labels"]);
      for (const [k, v] of Object.entries(arrays)) {
        expect(out[k].shape).toEqual(v.shape);
        expect(Array.from(out[k].data)).toEqual(Array.from(v.data));
      }
    });
  }

  it("fails with DataError on truncation, corruption and non-zip input", () => {
    const z = zipBytes(entries, { deflate: true });
    expect(() => parseNpz(z.subarray(0, z.length - 30), "t.npz")).toThrow(/t\.npz.*(truncated|central directory)/);
    const flipped = z.slice();
    flipped[40] ^= 0xff; // inside the first deflated body
    expect(() => parseNpz(flipped, "t.npz")).toThrow(DataError);
    expect(() => parseNpz(new Uint8Array(100), "t.npz")).toThrow(/t\.npz.*bad magic/);
    const stored = zipBytes(entries);
    const bitflip = stored.slice();
    bitflip[200] ^= 1; // a payload byte of a stored entry: only the CRC notices
    expect(() => parseNpz(bitflip, "t.npz")).toThrow(/CRC mismatch/);
  });
});

describe("mat v5", () => {
  it("round-trips a uint8 matrix, compressed or not", () => {
    const data = Uint8Array.from({ length: 6 * 5 }, (_, i) => (i * 37) % 256);
    for (const compress of [false, true]) {
      const v = parseMat(matBytes("faces", [6, 5], data, compress), "t.mat").faces;
      expect(v.dims).toEqual([6, 5]);
      expect(Array.from(v.data)).toEqual(Array.from(data));
    }
  });
  it("rejects other files and truncation", () => {
    expect(() => parseMat(new Uint8Array(200), "t.mat")).toThrow(/t\.mat: bad magic/);
    const m = matBytes("faces", [6, 5], new Uint8Array(30), false);
    expect(() => parseMat(m.subarray(0, m.length - 16), "t.mat")).toThrow(/truncated/);
  });
});

describe("idx", () => {
  it("round-trips gzip'd and raw files", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.boolean(), (n, gz) => {
        const data = Uint8Array.from({ length: n * 4 * 3 }, (_, i) => i % 256);
        const out = parseIdx(idxBytes([n, 4, 3], data, gz), "t", 3);
        expect(out.dims).toEqual([n, 4, 3]);
        expect(Array.from(out.data)).toEqual(Array.from(data));
      }),
      { numRuns: 20 },
    );
  });
  it("rejects bad magic, wrong rank, truncation and broken gzip", () => {
    const f = idxBytes([2, 2, 2], new Uint8Array(8));
    expect(() => parseIdx(f, "t", 1)).toThrow(/t: bad magic 00000803, expected 00000801/);
    expect(() => parseIdx(f.subarray(0, f.length - 1), "t", 3)).toThrow(/7 data bytes.*truncated/);
    const gz = idxBytes([2, 2, 2], new Uint8Array(8), true);
    expect(() => parseIdx(gz.subarray(0, gz.length - 5), "t.gz", 3)).toThrow(/t\.gz: corrupt or truncated compressed stream/);
  });
});

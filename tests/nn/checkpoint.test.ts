/**
 * safetensors checkpoints: random pytrees of every dtype round-trip exactly; the bytes
 * follow the format (checked by parsing them by hand here, as Python's reader would);
 * each kind of corruption fails with an Error naming the file and the problem.
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { np, tree, type Array, type DType } from "../../index.ts";
import { save, load, saveBytes, loadBytes } from "../../nn/checkpoint.ts";
import * as optim from "../../optim/index.ts";
import { onWebgpu } from "../backend-under-test.ts";

const dir = mkdtempSync(join(tmpdir(), "augerino-ckpt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const freshPath = () => join(dir, `t${fileNo++}.safetensors`);

const DTYPES: DType[] = ["float32", "float64", "int32", "uint32", "bool"];
// WebGPU holds no float64, and load() creates arrays on the default backend, so there the
// round trips use the other dtypes (the CPU project round-trips float64).
const ROUND_TRIP_DTYPES = onWebgpu ? DTYPES.filter((d) => d !== "float64") : DTYPES;
const ST: Record<DType, string> = { float32: "F32", float64: "F64", int32: "I32", uint32: "U32", bool: "BOOL" };

/**
 * Any values a dtype can hold (NaN, infinities and -0 included for floats), drawn from a
 * seed, on the default backend (float64 on the CPU where that is WebGPU: save reads both).
 */
function leafFrom(dtype: DType, shape: number[], seed: number): Array {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const specials = [NaN, Infinity, -Infinity, -0, 0, 1e-310];
  const vals = globalThis.Array.from({ length: n }, (_, i) => {
    const r = next();
    if (dtype === "bool") return r & 1;
    if (dtype === "int32") return r | 0;
    if (dtype === "uint32") return r;
    return i % 7 === 3 ? specials[r % specials.length] : (r / 2 ** 32 - 0.5) * 10 ** ((r % 9) - 4);
  });
  const typed = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array }[dtype].from(vals);
  return np.array(typed, { dtype, backend: dtype === "float64" ? "cpu" : undefined }).reshape(shape);
}

const leafArb = fc
  .record({
    dtype: fc.constantFrom(...ROUND_TRIP_DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
    seed: fc.nat(),
  })
  .map(({ dtype, shape, seed }) => leafFrom(dtype, shape, seed));
// Keys with "." and "%" (and "__metadata__", the header's own key) check that names stay unique; "__proto__" is not a plain data key in JS.
const keyArb = fc.oneof(fc.constantFrom("w", "theta", "a.b", "a%2Eb", "0", "%", "kernel", "__metadata__", ""), fc.string({ maxLength: 4 })).filter((k) => k !== "__proto__");
const objectOf = (child: fc.Arbitrary<unknown>, minLength: number) => fc.array(fc.tuple(keyArb, child), { minLength, maxLength: 4 }).map((kv) => Object.fromEntries(kv));
const { node } = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { arbitrary: leafArb, weight: 4 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.array(tie("node"), { maxLength: 4 }), weight: 2 },
    { arbitrary: objectOf(tie("node"), 0), weight: 2 },
  ),
}));
// A non-empty object at the root, so most trees hold several leaves.
const treeArb = objectOf(node, 1);

async function expectSameTree(got: unknown, want: unknown) {
  expect(tree.structure(got as never).toString()).toBe(tree.structure(want as never).toString());
  const [g, w] = [tree.leaves<Array>(got as never), tree.leaves<Array>(want as never)];
  for (const [i, a] of g.entries()) {
    expect(a.dtype).toBe(w[i].dtype);
    expect(a.shape).toEqual(w[i].shape);
    // Bit-exact, NaN and -0 included.
    const [x, y] = await Promise.all([a.data(), w[i].data()]);
    expect(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength))).toBe(true);
  }
}

describe("nn.save / nn.load", () => {
  it("round-trips random pytrees of every dtype exactly, nesting and nulls included", async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, async (t) => {
        const path = freshPath();
        await save(path, t);
        await expectSameTree(await load(path), t);
      }),
      { numRuns: 60 },
    );
  });

  it("round-trips a lone array, undefined leaves, and an optimiser state of a multiTransform", async () => {
    const lone = leafFrom("float32", [2, 3], 1);
    let path = freshPath();
    await save(path, lone);
    await expectSameTree(await load(path), lone);

    const params = { w: { layers: [{ kernel: leafFrom("float32", [3, 2], 2), bias: leafFrom("float32", [2], 3) }] }, theta: leafFrom("float32", [6], 4) };
    const tx = optim.multiTransform({ w: optim.adamw({ lr: 0.1 }), theta: optim.adam({ lr: optim.cosineDecay({ init: 0.1, decaySteps: 10 }) }) }, { w: "w", theta: "theta" });
    const state = tx.update(params, tx.init(params), params).state;
    const ckpt = { params, state, extra: [undefined, null] };
    path = freshPath();
    await save(path, ckpt);
    const back = await load(path);
    await expectSameTree(back, ckpt);
    expect(back.extra).toEqual([undefined, null]);
    // The restored state keeps working with the same transformation.
    expect(() => tx.update(params, back.state, params)).not.toThrow();
  });

  it("writes the safetensors layout: u64 LE length, space-padded JSON header, contiguous LE data", async () => {
    const t = {
      w: { layers: [{ kernel: leafFrom("float64", [2, 3], 5) }] },
      "a.b": leafFrom("int32", [4], 6),
      mask: leafFrom("bool", [3], 7),
      u: leafFrom("uint32", [], 8),
      f: leafFrom("float32", [0, 2], 9),
      none: null,
    };
    const path = freshPath();
    await save(path, t);
    const buf = readFileSync(path);
    const n = Number(buf.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const text = buf.toString("utf8", 8, 8 + n);
    expect(text.startsWith("{")).toBe(true);
    expect(/^[^ ]*\} *$/.test(text.replace(/"[^"]*"/g, '""'))).toBe(true); // padding is trailing spaces only
    const header = JSON.parse(text);
    // Python's safetensors requires every metadata value to be a string.
    for (const v of Object.values(header.__metadata__)) expect(typeof v).toBe("string");
    const names = Object.keys(header)
      .filter((k) => k !== "__metadata__")
      .sort();
    expect(names).toEqual(["a%2Eb", "f", "mask", "u", "w.layers.0.kernel"]);

    const dataStart = 8 + n;
    const spans = names.map((k) => header[k].data_offsets as [number, number]).sort((a, b) => a[0] - b[0]);
    spans.forEach(([b], i) => expect(b).toBe(i === 0 ? 0 : spans[i - 1][1]));
    expect(spans[spans.length - 1][1]).toBe(buf.length - dataStart);

    const expected: Record<string, Array> = { "w.layers.0.kernel": t.w.layers[0].kernel, "a%2Eb": t["a.b"], mask: t.mask, u: t.u, f: t.f };
    for (const name of names) {
      const {
        dtype,
        shape,
        data_offsets: [b, e],
      } = header[name];
      const arr = expected[name];
      expect(dtype).toBe(ST[arr.dtype]);
      expect(shape).toEqual(arr.shape);
      const view = new DataView(buf.buffer, buf.byteOffset + dataStart + b, e - b);
      const want = await arr.data();
      const read = (i: number) =>
        ({
          F64: () => view.getFloat64(8 * i, true),
          F32: () => view.getFloat32(4 * i, true),
          I32: () => view.getInt32(4 * i, true),
          U32: () => view.getUint32(4 * i, true),
          BOOL: () => view.getUint8(i),
        })[dtype as string]!();
      expect(e - b).toBe(want.byteLength);
      for (let i = 0; i < want.length; i++) expect(Object.is(read(i), want[i])).toBe(true);
    }
  });

  it("loads safetensors files written elsewhere (no tree metadata) as a flat { name: array } object", async () => {
    const path = freshPath();
    writeSafetensors(path, { "layer.weight": { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, Buffer.from(new Float32Array([1.5, -2]).buffer));
    const out = await load(path);
    expect(Object.keys(out)).toEqual(["layer.weight"]);
    expect([...(await out["layer.weight"].data())]).toEqual([1.5, -2]);
  });
});

/** Builds a file from a header object and data bytes, padding the header as the format asks. */
function writeSafetensors(path: string, header: unknown, data: Buffer, lengthOverride?: bigint) {
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  writeFileSync(path, Buffer.concat([prefix, json, data]));
}

describe("nn.saveBytes / nn.loadBytes (checkpoints without files, as in a browser)", () => {
  it("give the bytes save writes, and load them back into the same tree", async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, async (t) => {
        const path = freshPath();
        await save(path, t, { metadata: { run: "x" } });
        const bytes = await saveBytes(t, { metadata: { run: "x" } });
        expect(Buffer.from(bytes).equals(readFileSync(path))).toBe(true);
        await expectSameTree(await loadBytes(bytes), t);
      }),
      { numRuns: 20 },
    );
  });

  it("name the bytes and the problem when they are damaged, and refuse what is not bytes", async () => {
    const bytes = await saveBytes({ a: leafFrom("float32", [2, 2], 3) });
    await expect(loadBytes(bytes.subarray(0, bytes.length - 3))).rejects.toThrow(/nn\.load\(bytes\): truncated file/);
    await expect(loadBytes("x" as never)).rejects.toThrow(/nn\.loadBytes: expected a Uint8Array/);
  });
});

describe("nn.load errors name the file and the problem", () => {
  const good = () => ({ header: { a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] }, b: { dtype: "I32", shape: [1], data_offsets: [16, 20] } }, data: Buffer.alloc(20) });

  const cases: [string, (path: string) => void, RegExp][] = [
    ["a file shorter than the length prefix", (p) => writeFileSync(p, Buffer.from([1, 2, 3])), /truncated file: 3 bytes, fewer than the 8-byte header length/],
    [
      "a file cut short inside the data",
      (p) => {
        const { header, data } = good();
        writeSafetensors(p, header, data.subarray(0, 13));
      },
      /truncated file: the header describes 20 bytes of tensor data but only 13 follow it/,
    ],
    [
      "a header length beyond the file",
      (p) => {
        const { header, data } = good();
        writeSafetensors(p, header, data, 1n << 40n);
      },
      /bad header length 1099511627776: the file has \d+ bytes after the 8-byte length/,
    ],
    [
      "a header that is not JSON",
      (p) => {
        const { data } = good();
        const junk = Buffer.from("{not json}      ");
        const pre = Buffer.alloc(8);
        pre.writeBigUInt64LE(16n);
        writeFileSync(p, Buffer.concat([pre, junk, data]));
      },
      /the header does not parse as JSON/,
    ],
    [
      "offsets outside the file",
      (p) => {
        const { header, data } = good();
        header.b.data_offsets = [400, 404];
        writeSafetensors(p, header, data);
      },
      /tensor "b" has data_offsets \[400,404\] outside the file's 20 data bytes/,
    ],
    [
      "offsets that do not fit the shape",
      (p) => {
        const { header, data } = good();
        header.a.data_offsets = [0, 12];
        writeSafetensors(p, header, data);
      },
      /tensor "a" has data_offsets \[0,12\] spanning 12 bytes, but F32 of shape \[2,2\] needs 16/,
    ],
    [
      "a dtype it does not know",
      (p) => {
        const { header, data } = good();
        header.b.dtype = "BF16";
        writeSafetensors(p, header, data);
      },
      /tensor "b" has unknown dtype "BF16"; augerino reads F32, F64, I32, U32, BOOL/,
    ],
  ];

  for (const [what, write, message] of cases) {
    it(what, async () => {
      const path = freshPath();
      write(path);
      const err = await load(path).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toContain(path);
      expect(err!.message).toMatch(message);
    });
  }

  it("the well-formed version of those files loads", async () => {
    const path = freshPath();
    const { header, data } = good();
    writeSafetensors(path, header, data);
    const out = await load(path);
    expect(out.a.shape).toEqual([2, 2]);
  });

  it("save names a leaf that is not an array", async () => {
    await expect(save(freshPath(), { w: { lr: 0.1 } })).rejects.toThrow(/the leaf at "w.lr" is a number/);
  });
});

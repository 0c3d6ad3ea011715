/** The PNG decoder (every scanline filter) and the CamVid loader on tiny PNGs written here. */
import { afterEach, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { camvidDir, DataError, decodePng, loadCamVid } from "../../reproductions/datasets/index.ts";
import { restoreEnv, tempDir } from "./fixtures.ts";

restoreEnv(afterEach, "AUGERINO_DATA_DIR");

const paeth = (a: number, b: number, c: number) => {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};

/** An 8-bit PNG of `pixels` [h, w, ch], row r filtered with filter r % 5 (CRCs left 0: the reader does not check them). */
function encodePng(pixels: Uint8Array, w: number, h: number, ch: 1 | 3): Uint8Array {
  const stride = w * ch;
  const raw = new Uint8Array(h * (stride + 1));
  for (let r = 0; r < h; r++) {
    const f = r % 5;
    raw[r * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = pixels[r * stride + i];
      const a = i >= ch ? pixels[r * stride + i - ch] : 0;
      const b = r > 0 ? pixels[(r - 1) * stride + i] : 0;
      const c = r > 0 && i >= ch ? pixels[(r - 1) * stride + i - ch] : 0;
      raw[r * (stride + 1) + 1 + i] = (x - [0, a, b, (a + b) >> 1, paeth(a, b, c)][f]) & 0xff;
    }
  }
  const chunk = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(12 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(body, 8);
    return out;
  };
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr.set([8, ch === 3 ? 2 : 0, 0, 0, 0], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", new Uint8Array(0))];
  return Buffer.concat(parts);
}

describe("PNG and CamVid", () => {
  it("decodes every scanline filter back to the pixels", () => {
    const [w, h] = [7, 10];
    const px = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + (i >> 3) * 11) % 256);
    const png = decodePng(encodePng(px, w, h, 3), "t.png");
    expect([png.width, png.height, png.channels]).toEqual([w, h, 3]);
    expect(Array.from(png.data)).toEqual(Array.from(px));
    expect(() => decodePng(new Uint8Array(20), "bad.png")).toThrow(DataError);
  });

  it("loads CamVid's SegNet layout: box-averaged images, class weights, unlabelled pixels at 0", async () => {
    const root = tempDir("camvid");
    process.env.AUGERINO_DATA_DIR = root;
    expect(camvidDir()).toBeNull();
    await expect(loadCamVid()).rejects.toThrow(/camvid: no train\/, trainannot\//);
    const [w, h] = [6, 6];
    for (const split of ["train", "test"]) {
      mkdirSync(join(root, "camvid", split), { recursive: true });
      mkdirSync(join(root, "camvid", `${split}annot`), { recursive: true });
      for (const name of ["a.png", "b.png"]) {
        writeFileSync(join(root, "camvid", split, name), encodePng(new Uint8Array(w * h * 3).fill(153), w, h, 3));
        // Left half road (3), right half unlabelled (11).
        writeFileSync(
          join(root, "camvid", `${split}annot`, name),
          encodePng(
            Uint8Array.from({ length: w * h }, (_, i) => (i % w < 3 ? 3 : 11)),
            w,
            h,
            1,
          ),
        );
      }
    }
    const d = await loadCamVid({ downsample: 3, nTrain: 2, nTest: 1 });
    expect(d.train.x.shape).toEqual([2, 3, 2, 2]);
    expect(d.train.y.shape).toEqual([2, 11, 2, 2]);
    expect(d.test.x.shape[0]).toBe(1);
    // Rotation moves pixels, but class weights never exceed 1 and only road carries any.
    const y = await d.train.y.data();
    const perClass = Array.from({ length: 11 }, (_, c) =>
      Array.from(y)
        .filter((_, i) => Math.floor(i / 4) % 11 === c)
        .reduce((s, v) => s + v, 0),
    );
    expect(perClass.filter((v, c) => c !== 3 && v > 1e-6)).toEqual([]);
    expect(Math.max(...Array.from(y))).toBeLessThanOrEqual(1 + 1e-6);
    expect(Math.max(...Array.from(await d.train.x.data()))).toBeLessThanOrEqual(0.6 + 1e-6);
  });
});

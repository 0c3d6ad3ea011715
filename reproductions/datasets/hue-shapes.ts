/**
 * A synthetic set where the truth about hue is known, for the color experiment's controlled
 * check: a colored bar (horizontal or vertical, 2 pixels thick, random length and place) on a
 * dark gray background (0.25). Its color is 0.6 gray + 0.3 (cos h e1 + sin h e2), with e1, e2
 * an orthonormal basis of the plane perpendicular to the gray axis, so aug.colorJitter's hue
 * generator turns h exactly, and the bar is brighter than the background at every hue (its
 * shape shows in the luminance).
 * - task "hue": the label is the hue's quarter, h = label * pi/2 + U[-pi/8, pi/8], the bar's
 *   direction random. Turning hues by more than pi/8 can change the label: the hue width
 *   should shrink (a width up to pi/4 keeps every label).
 * - task "shape": the label is the bar's direction (0 horizontal, 1 vertical) and the hue is
 *   uniform on [0, 2 pi): hue carries nothing, so the hue width should grow.
 */
import { fromTyped } from "../../core/array.ts";
import type { ImageSplit } from "./cifar10.ts";
import { uniformAngles } from "./rotate.ts";

export type HueTask = "hue" | "shape";

const E1 = [2 / Math.sqrt(6), -1 / Math.sqrt(6), -1 / Math.sqrt(6)];
const E2 = [0, 1 / Math.sqrt(2), -1 / Math.sqrt(2)];
const BACKGROUND = 0.25;
const BAR = 0.6;
const CHROMA = 0.3;
const THICK = 2;

export interface HueShapesOpts {
  task: HueTask;
  n: number;
  /** Data seed (default 0). */
  seed?: number;
  /** 0 for training, 1 for test: independent draws. */
  split?: number;
  /** Image side in pixels (default 16). */
  size?: number;
}

/**
 * Images float32 [n, 3, size, size] in [0, 1], labels int32 [n] (4 hue quarters or 2 bar
 * directions) and each image's hue (radians).
 * @example const { x, y } = hueShapes({ task: "shape", n: 1000 }); // x [1000, 3, 16, 16]
 */
export function hueShapes(opts: HueShapesOpts): ImageSplit & { hue: Float32Array } {
  const { task, n, seed = 0, split = 0, size = 16 } = opts;
  if (task !== "hue" && task !== "shape") throw new Error(`hueShapes: task must be "hue" or "shape", got ${task}`);
  if (!Number.isInteger(n) || n < 0) throw new Error(`hueShapes: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(size) || size < 8) throw new Error(`hueShapes: size must be an integer >= 8, got ${size}`);
  const draw = (k: number, lo: number, hi: number) => uniformAngles(seed, [task === "hue" ? 0 : 1, split, k], 0, n, lo, hi);
  const [u0, u1, u2, u3, u4, u5] = [draw(0, 0, 1), draw(1, 0, 1), draw(2, 0, 1), draw(3, 0, 1), draw(4, 0, 1), draw(5, 0, 1)];
  const x = new Float32Array(n * 3 * size * size).fill(BACKGROUND);
  const y = new Int32Array(n);
  const hue = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const vertical = u0[i] < 0.5;
    if (task === "hue") {
      y[i] = Math.min(3, Math.floor(u1[i] * 4));
      hue[i] = (y[i] * Math.PI) / 2 + (u2[i] - 0.5) * (Math.PI / 4);
    } else {
      y[i] = vertical ? 1 : 0;
      hue[i] = u1[i] * 2 * Math.PI;
    }
    const len = 6 + Math.floor(u3[i] * (size - 8));
    const along = Math.floor(u4[i] * (size - len + 1));
    const across = Math.floor(u5[i] * (size - THICK + 1));
    const rgb = [0, 1, 2].map((c) => BAR + CHROMA * (Math.cos(hue[i]) * E1[c] + Math.sin(hue[i]) * E2[c]));
    for (let a = along; a < along + len; a++) {
      for (let t = across; t < across + THICK; t++) {
        const [r, q] = vertical ? [a, t] : [t, a];
        for (let c = 0; c < 3; c++) x[((i * 3 + c) * size + r) * size + q] = rgb[c];
      }
    }
  }
  return { x: fromTyped(x, [n, 3, size, size], "float32"), y: fromTyped(y, [n], "int32"), hue };
}

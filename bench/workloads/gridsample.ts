/**
 * Bilinear grid sampling (PyTorch grid_sample, zeros padding, align_corners) of 256 images
 * 1x28x28 at grids from random affine maps, the warp inside every Augerino step: forward,
 * and forward + backward to the images and the grid.
 */
import { np, jit, vjp, type Tracer } from "../../index.ts";
import * as aug from "../../augerino/index.ts";
import { uniform, type Impl, type Workload } from "../harness.ts";
import { meanAbsOf } from "./matmul.ts";

const p = { n: 256, c: 1, h: 28, w: 28 };

/** Grids [N, H, W, 2] (x, y in [-1, 1]) of rotations up to 45 degrees, scales 0.8-1.2, shifts up to 0.2. */
export function affineGrids(n: number, h: number, w: number, seed: number): Float32Array {
  const r = uniform(n * 4, seed);
  const grid = new Float32Array(n * h * w * 2);
  const lin = (i: number, m: number) => (m === 1 ? 0 : -1 + (2 * i) / (m - 1));
  for (let b = 0; b < n; b++) {
    const ang = (r[4 * b] * Math.PI) / 4;
    const s = 1 + 0.2 * r[4 * b + 1];
    const [tx, ty] = [0.2 * r[4 * b + 2], 0.2 * r[4 * b + 3]];
    const [c, sn] = [s * Math.cos(ang), s * Math.sin(ang)];
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const o = ((b * h + i) * w + j) * 2;
        grid[o] = c * lin(j, w) - sn * lin(i, h) + tx;
        grid[o + 1] = sn * lin(j, w) + c * lin(i, h) + ty;
      }
    }
  }
  return grid;
}

export const gridSampleWorkload: Workload = {
  id: "gridsample",
  kind: "gridSample",
  title: "gridSample bilinear 256x1x28x28",
  params: p,
  // Bytes in and out: the images, the grid (2 floats per output pixel) and the output.
  work: { amount: 4 * p.n * p.h * p.w * (p.c + 2 + p.c), unit: "GB/s" },
  inputs: () => ({ x: uniform(p.n * p.c * p.h * p.w, 7, 0, 1), grid: affineGrids(p.n, p.h, p.w, 8) }),
};

export const gridSampleGradWorkload: Workload = {
  id: "gridsample-grad",
  kind: "gridSampleGrad",
  title: "gridSample bilinear fwd+bwd 256x1x28x28",
  params: p,
  // Forward: read the images and the grid, write the output; backward: read the cotangent,
  // the images and the grid, write the gradients of the images and of the grid.
  work: { amount: 4 * p.n * p.h * p.w * (p.c + 2 + p.c + (p.c + p.c + 2) + (p.c + 2)), unit: "GB/s" },
  inputs: () => ({ ...gridSampleWorkload.inputs(), g: uniform(p.n * p.c * p.h * p.w, 9) }),
};

const sample = (x: Tracer, g: Tracer) => aug.gridSample(x, g, { alignCorners: true });
const gridInputs = (i: Record<string, Float32Array | Int32Array>) => [np.array(i.x).reshape([p.n, p.c, p.h, p.w]), np.array(i.grid).reshape([p.n, p.h, p.w, 2])];

export const oursGridSample: Impl = (_w, i) => {
  const [x, grid] = gridInputs(i);
  const f = jit(sample);
  let y = f(x, grid);
  return { run: () => (y = f(x, grid)), check: () => meanAbsOf(y) };
};

/** The gradients of the images and the grid for the cotangent g (PyTorch: y.backward(g)); the check is mean |d grid|. */
export const oursGridSampleGrad: Impl = (_w, i) => {
  const [x, grid] = gridInputs(i);
  const g = np.array(i.g).reshape([p.n, p.c, p.h, p.w]);
  const f = jit((x: Tracer, grid: Tracer, g: Tracer) => vjp(sample, x, grid)[1](g) as Tracer[]);
  let d = f(x, grid, g);
  return { run: () => (d = f(x, grid, g)), check: () => meanAbsOf(d[1]) };
};

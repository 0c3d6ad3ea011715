/**
 * Warping images by affine maps with PyTorch's `affine_grid` / `grid_sample` semantics,
 * written with differentiable array ops (gradients flow to the image and to the grid),
 * and the action of 3-D affine maps on point clouds.
 */
import { np, lax, type Tracer, type DType } from "../index.ts";
import { checkChoice, checkOptions } from "../core/options.ts";

export interface GridOpts {
  /** Corner pixels' centres sit at -1 and 1 (true, the reference's choice) or the pixel edges do (false). */
  alignCorners?: boolean;
}

function baseCoords(n: number, alignCorners: boolean, dtype: DType): Tracer {
  // Normalised pixel-centre coordinates in [-1, 1], computed in the matrices' precision.
  if (alignCorners) return n === 1 ? np.zeros([1], { dtype }) : np.linspace(-1, 1, n, { dtype });
  return np.arange(n).astype(dtype).mul(2).add(1).div(n).sub(1);
}

/**
 * The sampling grid [N, H, W, 2] (x, y in [-1, 1]) for affine maps `theta` [N, 2, 3] and an
 * output size [N, C, H, W], as torch.nn.functional.affine_grid.
 * @example aug.affineGrid(np.array([[[1, 0, 0], [0, 1, 0]]]), [1, 1, 28, 28], { alignCorners: true })
 */
export function affineGrid(theta: Tracer, size: number[], opts: GridOpts = {}): Tracer {
  checkOptions("aug.affineGrid", opts, ["alignCorners"]);
  const alignCorners = opts.alignCorners ?? false;
  if (theta.ndim !== 3 || theta.shape[1] !== 2 || theta.shape[2] !== 3) throw new Error(`affineGrid: theta must be [N, 2, 3], got [${theta.shape}]`);
  if (size.length !== 4 || size[0] !== theta.shape[0]) throw new Error(`affineGrid: size must be [N, C, H, W] with N = ${theta.shape[0]}, got [${size}]`);
  const [, , h, w] = size;
  const xs = np.broadcastTo(baseCoords(w, alignCorners, theta.dtype).reshape([1, w]), [h, w]);
  const ys = np.broadcastTo(baseCoords(h, alignCorners, theta.dtype).reshape([h, 1]), [h, w]);
  const base = np.stack([xs, ys, np.onesLike(xs)], { axis: -1 }); // [H, W, 3]
  // grid[n, i, j] = theta[n] @ base[i, j]
  return np.einsum("hwk,nck->nhwc", base, theta);
}

export interface SampleOpts extends GridOpts {
  mode?: "bilinear" | "nearest";
  padding?: "zeros" | "border";
}

/**
 * Samples x [N, C, H, W] at grid [N, Ho, Wo, 2] (normalised x, y), as
 * torch.nn.functional.grid_sample: bilinear or nearest (round half to even), zeros or
 * border padding. Differentiable in x and, for bilinear, in the grid.
 */
export function gridSample(x: Tracer, grid: Tracer, opts: SampleOpts = {}): Tracer {
  checkOptions("aug.gridSample", opts, ["mode", "padding", "alignCorners"]);
  checkChoice("aug.gridSample", "mode", opts.mode, ["bilinear", "nearest"]);
  checkChoice("aug.gridSample", "padding", opts.padding, ["zeros", "border"]);
  const { mode = "bilinear", padding = "zeros", alignCorners = false } = opts;
  if (x.ndim !== 4) throw new Error(`gridSample: input must be [N, C, H, W], got [${x.shape}]`);
  if (grid.ndim !== 4 || grid.shape[3] !== 2 || grid.shape[0] !== x.shape[0]) {
    throw new Error(`gridSample: grid must be [N, Ho, Wo, 2] with N = ${x.shape[0]}, got [${grid.shape}]`);
  }
  const [n, c, h, w] = x.shape;
  const [, ho, wo] = grid.shape;
  const unnorm = (g: Tracer, size: number) => (alignCorners ? g.add(1).mul((size - 1) / 2) : g.add(1).mul(size).sub(1).div(2));
  let ix = unnorm(grid.slice(null, null, null, 0), w);
  let iy = unnorm(grid.slice(null, null, null, 1), h);
  if (padding === "border") {
    ix = np.clip(ix, 0, w - 1);
    iy = np.clip(iy, 0, h - 1);
  } else {
    // Every coordinate beyond one pixel outside samples zeros; clipping there changes no value
    // and keeps extreme (even infinite) coordinates from turning into NaN weights.
    ix = np.clip(ix, -2, w + 1);
    iy = np.clip(iy, -2, h + 1);
  }
  // Gathers read the flattened input at plane offset + row * w + column: the corner indices
  // are computed once per output pixel and shared by the channels, with no wrap-around.
  const flat = x.reshape([n * c * h * w]);
  const planes = np
    .arange(0, n * c, 1, "int32")
    .mul(h * w)
    .reshape([n, c, 1]);
  const gather = (xi: Tracer, yi: Tracer): Tracer => {
    // xi, yi: int32 pixel coordinates [N, Ho, Wo], already clipped into the image.
    const pix = yi
      .mul(w)
      .add(xi)
      .reshape([n, 1, ho * wo]);
    return lax.gather(flat, planes.add(pix), 0, { mode: "clip" });
  };
  const insideAxis = (i: Tracer, size: number) => np.logicalAnd(i.greaterEqual(0), i.lessEqual(size - 1));
  const perPixel = (t: Tracer) => t.reshape([n, 1, ho * wo]);
  if (mode === "nearest") {
    // The clipping above keeps the coordinates well inside int32.
    const [xi, yi] = [np.round(ix).astype("int32"), np.round(iy).astype("int32")];
    const inside = np.logicalAnd(insideAxis(xi, w), insideAxis(yi, h));
    const v = gather(np.clip(xi, 0, w - 1), np.clip(yi, 0, h - 1));
    return np.where(perPixel(inside), v, 0).reshape([n, c, ho, wo]);
  }
  const x0 = np.floor(ix);
  const y0 = np.floor(iy);
  const wx1 = ix.sub(x0);
  const wy1 = iy.sub(y0);
  // Each axis's two taps: the coordinate clipped into the image and its weight, zero where
  // the tap lies outside (a corner's weight is the product of its taps', so it is zero
  // when either is outside, as in PyTorch).
  const taps = (lo: Tracer, frac: Tracer, size: number): [Tracer, Tracer][] => {
    const i0 = lo.astype("int32");
    const i1 = i0.add(1);
    return [
      [np.clip(i0, 0, size - 1), np.where(insideAxis(i0, size), np.sub(1, frac), 0)],
      [np.clip(i1, 0, size - 1), np.where(insideAxis(i1, size), frac, 0)],
    ];
  };
  const [tx0, tx1] = taps(x0, wx1, w);
  const [ty0, ty1] = taps(y0, wy1, h);
  let out: Tracer | null = null;
  for (const [[xc, wx], [yc, wy]] of [
    [tx0, ty0],
    [tx1, ty0],
    [tx0, ty1],
    [tx1, ty1],
  ]) {
    const term = gather(xc, yc).mul(perPixel(wx.mul(wy)));
    out = out ? out.add(term) : term;
  }
  return out!.reshape([n, c, ho, wo]);
}

/**
 * Warps images by homogeneous 3x3 matrices [N, 3, 3] (the top two rows act on normalised
 * coordinates), the reference's `affine_grid` + bilinear `grid_sample` with zero padding.
 */
export function warp(x: Tracer, mats: Tracer, opts: SampleOpts = {}): Tracer {
  const o = { alignCorners: true, ...opts };
  const theta = mats.slice(null, [0, 2], null);
  return gridSample(x, affineGrid(theta, x.shape, { alignCorners: o.alignCorners }), o);
}

/**
 * Applies 4x4 homogeneous matrices [N, 4, 4] to point clouds [N, P, 3].
 * @example aug.transformPoints(mats, coords) // [N, P, 3]
 */
export function transformPoints(mats: Tracer, points: Tracer): Tracer {
  if (mats.ndim !== 3 || mats.shape[1] !== 4 || mats.shape[2] !== 4) throw new Error(`transformPoints: matrices must be [N, 4, 4], got [${mats.shape}]`);
  if (points.ndim !== 3 || points.shape[2] !== 3 || points.shape[0] !== mats.shape[0]) throw new Error(`transformPoints: points must be [N, P, 3] with N = ${mats.shape[0]}, got [${points.shape}]`);
  const linear = mats.slice(null, [0, 3], [0, 3]);
  const shift = mats.slice(null, [0, 3], 3);
  return np.einsum("nij,npj->npi", linear, points).add(shift.reshape([mats.shape[0], 1, 3]));
}

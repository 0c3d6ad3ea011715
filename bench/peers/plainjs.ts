/**
 * Plain JavaScript loops over Float32Arrays: the floor any library on this machine should
 * beat. i-k-j matmul, a direct convolution (and its two backward loops), the elementwise
 * chain and a bilinear sampler. No autodiff, so no train step.
 */
import { meanAbs, type Library, type Workload } from "../harness.ts";
import { CHAIN_A, CHAIN_B } from "../workloads/elementwise.ts";

function matmul(a: Float32Array, b: Float32Array, n: number, c: Float32Array): void {
  c.fill(0);
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[ci + k];
      const bk = k * n;
      for (let j = 0; j < n; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

/**
 * Direct stride-1 SAME convolution, NCHW / OIHW. For each (image, out channel, in channel,
 * tap) the valid output columns [j0, j1) are computed once, so the inner loop runs over a
 * contiguous row without bounds tests. With `grads`, the same walk accumulates dx and dw for
 * the cotangent g instead (one loop nest, written once, kept monomorphic for V8).
 */
function convLoops(q: Workload["params"], x: Float32Array, wt: Float32Array, out: Float32Array, grads?: { g: Float32Array; dx: Float32Array; dw: Float32Array }): void {
  const { n: N, cin, cout, h, w, k } = q;
  const pad = (k - 1) >> 1;
  if (grads) {
    grads.dx.fill(0);
    grads.dw.fill(0);
  } else out.fill(0);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < cout; co++)
      for (let ci = 0; ci < cin; ci++)
        for (let kh = 0; kh < k; kh++)
          for (let kw = 0; kw < k; kw++) {
            const wi = ((co * cin + ci) * k + kh) * k + kw;
            const wv = wt[wi];
            const d = kw - pad;
            const j0 = Math.max(0, -d);
            const j1 = Math.min(w, w - d);
            let s = 0;
            for (let oh = 0; oh < h; oh++) {
              const ih = oh + kh - pad;
              if (ih < 0 || ih >= h) continue;
              const xr = ((n * cin + ci) * h + ih) * w + d;
              const or = ((n * cout + co) * h + oh) * w;
              if (!grads) {
                for (let j = j0; j < j1; j++) out[or + j] += wv * x[xr + j];
              } else {
                const { g, dx } = grads;
                for (let j = j0; j < j1; j++) {
                  const gv = g[or + j];
                  dx[xr + j] += wv * gv;
                  s += gv * x[xr + j];
                }
              }
            }
            if (grads) grads.dw[wi] += s;
          }
}

/** Bilinear, zeros padding, align_corners: the semantics of aug.gridSample. */
function gridSample(q: Workload["params"], x: Float32Array, grid: Float32Array, out: Float32Array): void {
  const { n: N, c: C, h: H, w: W } = q;
  const at = (base: number, yi: number, xi: number) => (xi >= 0 && xi < W && yi >= 0 && yi < H ? x[base + yi * W + xi] : 0);
  for (let n = 0; n < N; n++)
    for (let p = 0; p < H * W; p++) {
      const ix = ((grid[(n * H * W + p) * 2] + 1) * (W - 1)) / 2;
      const iy = ((grid[(n * H * W + p) * 2 + 1] + 1) * (H - 1)) / 2;
      const x0 = Math.floor(ix);
      const y0 = Math.floor(iy);
      const fx = ix - x0;
      const fy = iy - y0;
      for (let c = 0; c < C; c++) {
        const b = (n * C + c) * H * W;
        out[b + p] = (at(b, y0, x0) * (1 - fx) + at(b, y0, x0 + 1) * fx) * (1 - fy) + (at(b, y0 + 1, x0) * (1 - fx) + at(b, y0 + 1, x0 + 1) * fx) * fy;
      }
    }
}

export const plainJs = {
  name: "plain JS loops",
  async load(): Promise<Library> {
    return {
      name: "plain JS loops",
      note: "hand-written Float32Array loops on the main thread (i-k-j matmul, direct convolution).",
      impls: {
        matmul: (w, i) => {
          const c = new Float32Array(w.params.n ** 2);
          return { run: () => matmul(i.a as Float32Array, i.b as Float32Array, w.params.n, c), check: () => meanAbs(c) };
        },
        conv: (w, i) => {
          const out = new Float32Array(w.params.n * w.params.cout * w.params.h * w.params.w);
          return { run: () => convLoops(w.params, i.x as Float32Array, i.w as Float32Array, out), check: () => meanAbs(out) };
        },
        convGrad: (w, i) => {
          const q = w.params;
          const out = new Float32Array(q.n * q.cout * q.h * q.w);
          const dx = new Float32Array(i.x.length);
          const dw = new Float32Array(i.w.length);
          const [x, wt, g] = [i.x, i.w, i.g] as Float32Array[];
          return {
            run: () => {
              convLoops(q, x, wt, out);
              convLoops(q, x, wt, out, { g, dx, dw });
            },
            check: () => meanAbs(dw),
          };
        },
        chain: (_w, i) => {
          const x = i.x as Float32Array;
          const y = new Float32Array(x.length);
          return {
            run: () => {
              for (let j = 0; j < x.length; j++) {
                const v = x[j];
                y[j] = Math.tanh(v * CHAIN_A + CHAIN_B) * (1 / (1 + Math.exp(-v))) - 0.5;
              }
            },
            check: () => meanAbs(y),
          };
        },
        gridSample: (w, i) => {
          const out = new Float32Array(i.x.length);
          return { run: () => gridSample(w.params, i.x as Float32Array, i.grid as Float32Array, out), check: () => meanAbs(out) };
        },
        train: { skip: "not applicable: no autodiff" },
      },
    };
  },
} satisfies { name: string; load(): Promise<Library> };

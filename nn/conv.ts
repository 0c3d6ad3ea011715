/** Convolution and pooling layers over NCHW inputs. */
import { np, type Tracer } from "../index.ts";
import { conv, reduceWindow } from "../core/lax-conv.ts";
import { kaimingUniformDefault } from "./init.ts";
import { checkApplyOptions, splitKeys, stateless, type Layer } from "./layer.ts";
import { checkOptions } from "../core/options.ts";

type Padding = "SAME" | "VALID" | [number, number][] | number;

function pair(v: number | [number, number], what: string): [number, number] {
  const p = typeof v === "number" ? ([v, v] as [number, number]) : v;
  if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`${what} must be a positive integer or a pair, got ${JSON.stringify(v)}`);
  return p;
}

function paddingOf(p: Padding): "SAME" | "VALID" | [number, number][] {
  return typeof p === "number"
    ? [
        [p, p],
        [p, p],
      ]
    : p;
}

function checkNCHW(name: string, shape: readonly number[]): void {
  if (shape.length !== 4) throw new Error(`${name}: expected an NCHW input of rank 4, got shape [${shape}]`);
}

export interface Conv2dOpts {
  strides?: number | [number, number];
  /** "SAME", "VALID", a symmetric integer (PyTorch's padding=p) or [[top, bottom], [left, right]]. Default "SAME". */
  padding?: Padding;
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
}

/**
 * 2-D convolution with OIHW weights and PyTorch's default initialisation.
 * @example const layer = nn.conv2d(32, 3); layer.init(key, [1, 3, 28, 28]).outputShape // [1, 32, 28, 28]
 */
export function conv2d(outChannels: number, kernel: number | [number, number], opts: Conv2dOpts = {}): Layer {
  checkOptions("nn.conv2d", opts, ["strides", "padding", "dilation", "groups", "bias"]);
  const [kh, kw] = pair(kernel, "conv2d kernel");
  const strides = pair(opts.strides ?? 1, "conv2d strides");
  const dilation = pair(opts.dilation ?? 1, "conv2d dilation");
  const groups = opts.groups ?? 1;
  const padding = paddingOf(opts.padding ?? "SAME");
  const useBias = opts.bias ?? true;
  const run = (x: Tracer, w: Tracer) => conv(x, w, { strides, padding, dilation, groups });
  return {
    name: `conv2d(${outChannels}, ${kh}x${kw})`,
    init(key, inputShape) {
      checkNCHW("conv2d", inputShape);
      const inC = inputShape[1];
      if (inC % groups !== 0 || outChannels % groups !== 0) throw new Error(`conv2d: groups=${groups} must divide input channels ${inC} and output channels ${outChannels}`);
      const fanIn = (inC / groups) * kh * kw;
      const [k1, k2] = splitKeys(key, 2);
      const params = {
        weight: kaimingUniformDefault(k1, [outChannels, inC / groups, kh, kw], fanIn),
        bias: useBias ? kaimingUniformDefault(k2, [outChannels], fanIn) : null,
      };
      const outputShape = run(np.zeros([1, inC, inputShape[2], inputShape[3]]), np.zeros([outChannels, inC / groups, kh, kw])).shape;
      return { params, state: null, outputShape: [inputShape[0], ...outputShape.slice(1)] };
    },
    apply(params, state, x, opts) {
      checkApplyOptions("conv2d", opts);
      checkNCHW("conv2d", x.shape);
      let y = run(x, params.weight);
      if (params.bias) y = y.add(params.bias.reshape([1, -1, 1, 1]));
      return { y, state };
    },
  };
}

function pool(name: string, op: "max" | "mean", window: number | [number, number], opts: { strides?: number | [number, number]; padding?: Padding }): Layer {
  checkOptions(`nn.${name}`, opts, ["strides", "padding"]);
  const win = pair(window, `${name} window`);
  const strides = pair(opts.strides ?? win, `${name} strides`);
  const padding = paddingOf(opts.padding ?? "VALID");
  const pad4 = typeof padding === "string" ? padding : ([[0, 0], [0, 0], ...padding] as [number, number][]);
  const run = (x: Tracer) => {
    checkNCHW(name, x.shape);
    return reduceWindow(x, op, { window: [1, 1, ...win], strides: [1, 1, ...strides], padding: pad4 });
  };
  return stateless(`${name}(${win.join("x")})`, run, (s) => [s[0], ...run(np.zeros([1, ...s.slice(1)])).shape.slice(1)]);
}

/** Max pooling; strides default to the window (PyTorch's MaxPool2d). */
export const maxPool = (window: number | [number, number], opts: { strides?: number | [number, number]; padding?: Padding } = {}) => pool("maxPool", "max", window, opts);

/** Average pooling; padded cells count in the average (PyTorch's count_include_pad=True). */
export const avgPool = (window: number | [number, number], opts: { strides?: number | [number, number]; padding?: Padding } = {}) => pool("avgPool", "mean", window, opts);

/** Mean over the spatial axes: [N, C, H, W] -> [N, C]. */
export const globalAvgPool = (): Layer =>
  stateless(
    "globalAvgPool",
    (x) => {
      if (x.ndim < 3) throw new Error(`globalAvgPool: expected [N, C, ...spatial], got [${x.shape}]`);
      return np.mean(x, { axis: [...Array(x.ndim - 2).keys()].map((i) => i + 2) });
    },
    (s) => s.slice(0, 2),
  );

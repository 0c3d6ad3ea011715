/**
 * The 2x2 stride-2 pooling kernels of ../pool2x2.ts as WebAssembly over float32 arrays in
 * the heap, one pass each and split over the worker threads by rows of windows: the
 * windowed extreme, and the cotangent scattered to each window's pick (zeros elsewhere).
 * The pick is the JavaScript kernels' (window.ts's): scanning a, b, c, d in window order,
 * an element replaces the best so far when it is strictly more extreme, or a NaN replacing
 * a number; so the first extreme wins, a NaN winning, and of +0 and -0 the first. Values
 * are copied, never computed, so results are bit for bit the JavaScript kernels'. Four
 * windows run at a time in SIMD lanes, the rest of a row one at a time.
 *
 *   if (!pool2x2Wasm("extreme", "max", g, out, [x])) extreme2x2(x, out, g, 1);
 */
import type { TypedArray } from "../../../dtype.ts";
import type { Pool2x2 } from "../pool2x2.ts";
import { ModuleBuilder } from "./emit.ts";
import { cpuHeap, inHeap, newKernelId, runOuterLoop } from "./kernels.ts";
import { wasmEnabled, webAssembly, type WasmModule } from "./webassembly.ts";

type Kind = "extreme" | "scatter";
type Select = "max" | "min";

interface Compiled {
  module: WasmModule;
  id: number;
  run: (lo: number, hi: number, ...ptrs: number[]) => void;
}

const modules = new Map<string, Compiled>();

/**
 * Runs the kernel when every array is a float32 array in the heap: `extreme` writes the
 * picks of x (ins [x]) to out; `scatter` writes s (ins [s, x]) to each pick of x in out
 * (every element outside the windows included). False, having run nothing, otherwise.
 */
export function pool2x2Wasm(kind: Kind, select: Select, g: Pool2x2, out: TypedArray, ins: TypedArray[]): boolean {
  if (!wasmEnabled() || g.oh === 0 || g.ow === 0) return false;
  if (![out, ...ins].every((a) => a instanceof Float32Array && inHeap(a))) return false;
  if (kind === "scatter" && (g.h !== 2 * g.oh || g.w !== 2 * g.ow)) out.fill(0);
  const key = `${kind}:${select}:${g.h}:${g.w}:${g.oh}:${g.ow}`;
  let c = modules.get(key);
  if (!c) {
    const module = new webAssembly.Module(emitPool(kind, select, g));
    const run = (new webAssembly.Instance(module, { env: { memory: cpuHeap().memory } }).exports as unknown as { kernel: Compiled["run"] }).kernel;
    modules.set(key, (c = { module, id: newKernelId(), run }));
  }
  runOuterLoop(c.module, c.id, c.run, g.batch * g.oh, g.batch * g.oh * g.ow * 4, [out.byteOffset, ...ins.map((a) => a.byteOffset)]);
  return true;
}

/** `kernel(lo, hi, out, ...ins)` over rows [lo, hi) of windows (row r: image r / oh, window row r % oh). */
function emitPool(kind: Kind, select: Select, g: Pool2x2): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({ minPages: 1, maxPages: 65536 });
  const nIns = kind === "extreme" ? 1 : 2;
  const f = m.fn("kernel", Array(3 + nIns).fill("i32"));
  const [LO, HI, OUT] = [0, 1, 2];
  const X = kind === "extreme" ? 3 : 4;
  const S = 3;
  const [r, xi, oi, end, si, k] = [...Array(6)].map(() => f.local("i32"));
  const [best, v, val] = [...Array(3)].map(() => f.local("f32"));
  const cmp = select === "max" ? "f32.gt" : "f32.lt";
  const W = 4 * g.w;
  // Windows' elements in order: byte offsets from the window's first.
  const taps = [0, 4, W, W + 4];

  /** Leaves on the stack whether v replaces best: v more extreme, or v NaN while best is not. */
  const replaces = () => f.get(v).get(best).op(cmp).get(v).get(v).op("f32.ne").get(best).get(best).op("f32.eq").op("i32.and").op("i32.or");
  const pick = (withIndex: boolean) => {
    f.get(xi).mem("f32.load").set(best);
    if (withIndex) f.i32(0).set(k);
    for (let t = 1; t < 4; t++) {
      f.get(xi).mem("f32.load", taps[t]).set(v);
      // The index first: it tests against the best before this element.
      if (withIndex) {
        f.i32(t).get(k);
        replaces();
        f.op("select").set(k);
      }
      f.get(v).get(best);
      replaces();
      f.op("select").set(best);
    }
  };

  // Four windows at a time: the rows' pairs (a b) and (c d) split into lanes, the pick's
  // comparisons lane-wise, the scattered rows interleaved back.
  const [va, vb, vc, vd, vbest, vv, vk, vs] = [...Array(8)].map(() => f.local("v128"));
  const vReplaces = () =>
    f
      .get(vv)
      .get(vbest)
      .op(select === "max" ? "f32x4.gt" : "f32x4.lt")
      .get(vv)
      .get(vv)
      .op("f32x4.ne")
      .get(vbest)
      .get(vbest)
      .op("f32x4.eq")
      .op("v128.and")
      .op("v128.or");
  const vPick = (withIndex: boolean) => {
    for (const [lanes, row, local] of [
      [[0, 2, 4, 6], 0, va],
      [[1, 3, 5, 7], 0, vb],
      [[0, 2, 4, 6], W, vc],
      [[1, 3, 5, 7], W, vd],
    ] as const)
      f.get(xi)
        .mem("v128.load", row)
        .get(xi)
        .mem("v128.load", row + 16)
        .shuffleF32(lanes)
        .set(local);
    f.get(va).set(vbest);
    if (withIndex) f.i32(0).op("i32x4.splat").set(vk);
    [vb, vc, vd].forEach((x, t) => {
      f.get(x).set(vv);
      if (withIndex) {
        f.i32(t + 1)
          .op("i32x4.splat")
          .get(vk);
        vReplaces();
        f.op("v128.bitselect").set(vk);
      }
      f.get(vv).get(vbest);
      vReplaces();
      f.op("v128.bitselect").set(vbest);
    });
  };
  const vEnd = f.local("i32");
  const quads = g.ow >> 2;

  f.get(LO).set(r);
  f.whileBelow(r, HI, () => {
    // xi = x + 4 * ((r / oh) * h * w + 2 * (r % oh) * w); oi = out (or s) + 4 * r * ow
    f.get(X)
      .get(r)
      .i32(g.oh)
      .op("i32.div_u")
      .i32(4 * g.h * g.w)
      .op("i32.mul")
      .op("i32.add");
    f.get(r)
      .i32(g.oh)
      .op("i32.rem_u")
      .i32(2 * W)
      .op("i32.mul")
      .op("i32.add")
      .set(xi);
    /** `at` = row r of the output-shaped array at `base`, `end` = the row's end. */
    const rowBounds = (base: number, at: number) =>
      f
        .get(base)
        .get(r)
        .i32(4 * g.ow)
        .op("i32.mul")
        .op("i32.add")
        .tee(at)
        .i32(4 * g.ow)
        .op("i32.add")
        .set(end);
    if (kind === "extreme") {
      rowBounds(OUT, oi);
      f.get(oi)
        .i32(16 * quads)
        .op("i32.add")
        .set(vEnd);
      f.whileBelow(oi, vEnd, () => {
        vPick(false);
        f.get(oi).get(vbest).mem("v128.store");
        f.addTo(xi, 32).addTo(oi, 16);
      });
      f.whileBelow(oi, end, () => {
        pick(false);
        f.get(oi).get(best).mem("f32.store");
        f.addTo(xi, 8).addTo(oi, 4);
      });
    } else {
      rowBounds(S, si);
      // The output window sits where the input window does.
      f.get(xi).get(X).op("i32.sub").get(OUT).op("i32.add").set(oi);
      f.get(si)
        .i32(16 * quads)
        .op("i32.add")
        .set(vEnd);
      f.whileBelow(si, vEnd, () => {
        vPick(true);
        f.get(si).mem("v128.load").set(vs);
        // Tap t's values: s where the pick is t, else +0.
        [va, vb, vc, vd].forEach((x, t) => f.get(vs).get(vk).i32(t).op("i32x4.splat").op("i32x4.eq").op("v128.and").set(x));
        for (const [row, p, q] of [
          [0, va, vb],
          [W, vc, vd],
        ] as const) {
          f.get(oi).get(p).get(q).shuffleF32([0, 4, 1, 5]).mem("v128.store", row);
          f.get(oi)
            .get(p)
            .get(q)
            .shuffleF32([2, 6, 3, 7])
            .mem("v128.store", row + 16);
        }
        f.addTo(xi, 32).addTo(oi, 32).addTo(si, 16);
      });
      f.whileBelow(si, end, () => {
        pick(true);
        f.get(si).mem("f32.load").set(val);
        for (let t = 0; t < 4; t++) f.get(oi).get(val).f32(0).get(k).i32(t).op("i32.eq").op("select").mem("f32.store", taps[t]);
        f.addTo(xi, 8).addTo(oi, 8).addTo(si, 4);
      });
    }
    f.addTo(r, 1);
  });
  return m.bytes();
}

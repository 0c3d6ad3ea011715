/**
 * The rotation-dependent task shared by the CPU and WebGPU width tests: n images of a bar
 * through the centre of an s x s frame at angles pi k / n (inside a disc), with targets
 * cos(2a) and sin(2a), which rotations change.
 */
import { np, type DType, type Tracer } from "../../index.ts";

export function barTask(n: number, s: number, dtype: DType = "float64"): { x: Tracer; y: Tracer } {
  const angles = Array.from({ length: n }, (_, i) => (Math.PI * i) / n);
  const bars = angles.map((a) => {
    const img: number[][] = [];
    for (let i = 0; i < s; i++) {
      img.push([]);
      for (let j = 0; j < s; j++) {
        const u = j - (s - 1) / 2;
        const v = i - (s - 1) / 2;
        const d = Math.abs(-Math.sin(a) * u + Math.cos(a) * v);
        img[i].push(Math.exp(-d * d) * (u * u + v * v <= 12 ? 1 : 0));
      }
    }
    return [img];
  });
  return {
    x: np.array(bars, { dtype }),
    y: np.array(
      angles.map((a) => [Math.cos(2 * a), Math.sin(2 * a)]),
      { dtype },
    ),
  };
}

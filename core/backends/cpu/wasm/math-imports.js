// The JavaScript functions fused WebAssembly kernels may import on any thread: builtins
// plus two one-liners. Plain JavaScript, so that pool threads (worker-job.js) load it
// without a TypeScript loader; render-wasm.ts adds the imports that run on the calling
// thread only.

export const MATH_IMPORTS = {
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  tanh: Math.tanh,
  atan2: Math.atan2,
  pow: Math.pow,
  fmod: (a, b) => a % b,
  // An i32 result converts with ToInt32, as `| 0` does.
  toInt32: (a) => a,
};

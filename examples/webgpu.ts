// The README's WebGPU example (tests/backends/webgpu/runtime.test.ts keeps them identical).
import { np, jit, initBackend, devices } from "../index.ts";

await initBackend("webgpu"); // throws one line saying why when there is no adapter
const x = np.arange(0, 1e6, 1, { dtype: "float32", backend: "webgpu" });
const f = jit((v) => np.sum(np.tanh(v.mul(1e-6))));
console.log(devices(), await f(x).data()); // one fused kernel on the GPU

// Each family file registers its primitives' WebGPU kernels when imported.
import "./elementwise.ts";

// Each family file registers its primitives' WebGPU kernels when imported.
import "./elementwise.ts";
import "./shape.ts";
import "./reduce.ts";
import "./sort.ts";
import "./gather.ts";

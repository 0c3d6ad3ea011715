// Each family file registers its primitives' WebGPU kernels when imported.
import "./elementwise.ts";
import "./random.ts";
import "./linalg.ts";
import "./dot.ts";
import "./reduce.ts";
import "./sort.ts";
import "./gather.ts";
import "./conv.ts";
import "./window.ts";

// Each family file registers its primitives' CUDA kernels when imported.
import "./elementwise.ts";
import "./random.ts";
import "./dot.ts";
import "./reduce.ts";
import "./gather.ts";

// Filled by the nn issue; the entry point exists so `import * as nn from "augerino/nn"` resolves.
export {};

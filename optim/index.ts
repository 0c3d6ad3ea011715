// Filled by the optim issue; the entry point exists so `import * as optim from "augerino/optim"` resolves.
export {};

// Filled by the augerino issue; the entry point exists so `import * as augerino from "augerino/augerino"` resolves.
export {};

/**
 * The paper's value of an experiment's metric, for the sweep report's "paper" column. Keyed
 * by the metric names of results.json (after the sweep drops a swept value from a name).
 */
const PAPER: Record<string, Record<string, string>> = {
  rotmnist: { rotationWidth: "-> 2 pi = 6.283 (Fig. 2)", testAccuracy: "0.989" },
  "mario-iggy": Object.fromEntries(["narrow", "right", "wide"].map((s) => [`rotationWidth_${s}`, "pi/2 = 1.571, within ~0.2 (Fig. 3)"])),
  olivetti: { rotationWidth: "0.003 (Fig. 4)", maxOtherWidth: "< 0.1" },
  landscape: { flatRange: "~0 (flat on [0, pi/2], Fig. 5b)", riseBeyondPi: "> 0" },
};

export const paperValue = (experiment: string, metric: string): string => PAPER[experiment]?.[metric] ?? "";

/** The experiments `augerino reproduce` knows, by name. */
import type { Experiment } from "../experiment.ts";
import { marioIggyExperiment } from "./mario-iggy.ts";
import { rotmnistExperiment } from "./rotmnist.ts";
import { olivettiExperiment } from "./olivetti.ts";
import { landscapeExperiment } from "./landscape.ts";
import { qm9Experiment } from "./qm9.ts";
import { effdimExperiment } from "./effdim.ts";
import { colorExperiment } from "./color.ts";
import { cifar10Experiment } from "./cifar10.ts";
import { segmentationExperiment } from "./segmentation.ts";

export const experiments: Record<string, Experiment> = Object.fromEntries(
  [marioIggyExperiment, rotmnistExperiment, olivettiExperiment, landscapeExperiment, qm9Experiment, effdimExperiment, colorExperiment, cifar10Experiment, segmentationExperiment].map((e) => [
    e.name,
    e,
  ]),
);

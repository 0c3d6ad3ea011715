/**
 * QM9 molecules in the Cormorant/EGNN .npz format (the paper's sec. 4.5 uses the same
 * splits through LieConv): per molecule `num_atoms`, `charges` (atomic numbers, 0 for
 * padding) [N, 29], `positions` [N, 29, 3] in Angstrom, and the targets in Hartree
 * (`homo`, `lumo`, `gap`) among others.
 *
 * With the full split files (train.npz, valid.npz, test.npz, ~100k / 18k / 13k molecules)
 * in the data folder they are used as they are. Otherwise the one file shipped here (the
 * EGNN test split, 13,083 molecules) is split into train / validation / test by a seeded
 * permutation, so a smaller request is a prefix of a larger one.
 *
 * Molecules are packed for the point-cloud layers (nn.pointConv): float32
 * [N, 29, 4 + 5] = positions (3), mask (1: a real atom), one-hot element (H, C, N, O, F).
 */
import { fromTyped, type NDArray } from "../../core/array.ts";
import { DataError, readPart, type DatasetSpec } from "./files.ts";
import { parseNpz, type NpyArray } from "./npy.ts";
import { permutation } from "./rotate.ts";

const full = (role: string): { role: string; optional: true; variants: { name: string; sha256: string[]; note: string }[] } => ({
  role,
  optional: true,
  variants: [{ name: `${role}.npz`, sha256: [], note: `the full Cormorant/EGNN ${role} split (used with train and valid in place of the seeded split)` }],
});

export const QM9: DatasetSpec = {
  name: "qm9",
  description: "QM9 molecules (Cormorant/EGNN .npz: atomic numbers, positions in Angstrom, targets in Hartree)",
  parts: [
    {
      role: "test",
      variants: [
        { name: "egnn_cormorant_qm9_test.npz", sha256: ["f39c55ffef9b1cceff80b8e12ba696a77bde623640982ce399120b2ab4a0432f"], note: "the EGNN test split, 13,083 molecules" },
        { name: "test.npz", sha256: [], note: "the Cormorant/EGNN test split" },
      ],
    },
    full("train"),
    full("valid"),
  ],
};

/** Elements of QM9, in the order of the one-hot channels. */
export const QM9_ELEMENTS = [1, 6, 7, 8, 9] as const;
/** Packed channels per atom: position (3), mask (1), one-hot element. */
export const QM9_CHANNELS = 4 + QM9_ELEMENTS.length;
/** meV per Hartree (CODATA 2018). */
export const MEV_PER_HARTREE = 27211.386245988;
export const QM9_TARGETS = ["homo", "lumo", "gap"] as const;
export type Qm9Target = (typeof QM9_TARGETS)[number];

export interface MoleculeSplit {
  /** float32 [N, P, 9]: positions, mask, one-hot element (see the module's doc). */
  x: NDArray;
  /** float32 [N]: the target in Hartree. */
  y: NDArray;
}

export interface Qm9 {
  train: MoleculeSplit;
  valid: MoleculeSplit;
  test: MoleculeSplit;
  meta: { dataset: "qm9"; files: string[]; split: "full" | "seeded"; seed: number; target: Qm9Target; nTrain: number; nValid: number; nTest: number; available: number };
}

export interface Qm9Opts {
  /** Target: "homo" (default), "lumo" or "gap". */
  target?: Qm9Target;
  /** Seed of the split (default 0); unused with the full split files. */
  seed?: number;
  /** Molecules per split (default: all available); with the seeded split they are drawn in the order train, valid, test. */
  nTrain?: number;
  nValid?: number;
  nTest?: number;
}

interface Molecules {
  n: number;
  atoms: number;
  charges: NpyArray;
  positions: NpyArray;
  target: NpyArray;
  path: string;
}

function readMolecules(role: string, target: Qm9Target): Molecules | null {
  const part = readPart(QM9, role);
  if (!part) return null;
  const a = parseNpz(part.bytes, part.path);
  for (const k of ["charges", "positions", target]) if (!a[k]) throw new DataError(`${part.path}: no array "${k}" (has ${Object.keys(a).join(", ")}); expected the Cormorant/EGNN QM9 format`);
  const [n, atoms] = a.charges.shape;
  if (a.charges.shape.length !== 2 || a.positions.shape.join(",") !== `${n},${atoms},3` || a[target].shape.join(",") !== `${n}`) {
    throw new DataError(`${part.path}: shapes charges [${a.charges.shape}], positions [${a.positions.shape}], ${target} [${a[target].shape}] do not agree (expected [N, P], [N, P, 3], [N])`);
  }
  return { n, atoms, charges: a.charges, positions: a.positions, target: a[target], path: part.path };
}

/** Molecules `rows` of `m`, packed (padded to `atoms` slots). Unknown elements are an error. */
function pack(m: Molecules, rows: ArrayLike<number>, atoms: number): MoleculeSplit {
  const n = rows.length;
  const x = new Float32Array(n * atoms * QM9_CHANNELS);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    y[i] = m.target.data[r];
    for (let a = 0; a < m.atoms; a++) {
      const z = m.charges.data[r * m.atoms + a];
      if (z === 0) continue;
      const e = QM9_ELEMENTS.indexOf(z as (typeof QM9_ELEMENTS)[number]);
      if (e < 0) throw new DataError(`${m.path}: molecule ${r} has an atom of atomic number ${z}; QM9 holds only H, C, N, O, F`);
      const at = (i * atoms + a) * QM9_CHANNELS;
      for (let d = 0; d < 3; d++) x[at + d] = m.positions.data[(r * m.atoms + a) * 3 + d];
      x[at + 3] = 1;
      x[at + 4 + e] = 1;
    }
  }
  return { x: fromTyped(x, [n, atoms, QM9_CHANNELS], "float32"), y: fromTyped(y, [n], "float32") };
}

const count = (what: string, asked: number | undefined, available: number) => {
  const n = asked ?? available;
  if (!Number.isInteger(n) || n < 1) throw new Error(`qm9: ${what} must be a positive integer, got ${n}`);
  if (n > available) throw new DataError(`qm9: ${what}=${n} but only ${available} molecules are available for it`);
  return n;
};

/**
 * QM9 for one target, packed for nn.pointConv.
 * @example const { train, valid, test, meta } = qm9({ seed: 0, nTrain: 1000, nValid: 200, nTest: 500 }); // train.x [1000, 29, 9]
 */
export function qm9(opts: Qm9Opts = {}): Qm9 {
  const target = opts.target ?? "homo";
  if (!QM9_TARGETS.includes(target)) throw new Error(`qm9: target must be one of ${QM9_TARGETS.join(", ")}, got ${JSON.stringify(target)}`);
  const seed = opts.seed ?? 0;
  const test = readMolecules("test", target)!;
  const train = readMolecules("train", target);
  const valid = readMolecules("valid", target);
  if (train && valid) {
    const atoms = Math.max(train.atoms, valid.atoms, test.atoms);
    const prefix = (m: Molecules, what: string, asked?: number) =>
      pack(
        m,
        Int32Array.from({ length: count(what, asked, m.n) }, (_, i) => i),
        atoms,
      );
    const [tr, va, te] = [prefix(train, "nTrain", opts.nTrain), prefix(valid, "nValid", opts.nValid), prefix(test, "nTest", opts.nTest)];
    return {
      train: tr,
      valid: va,
      test: te,
      meta: {
        dataset: "qm9",
        files: [train.path, valid.path, test.path],
        split: "full",
        seed,
        target,
        nTrain: tr.y.shape[0],
        nValid: va.y.shape[0],
        nTest: te.y.shape[0],
        available: train.n + valid.n + test.n,
      },
    };
  }
  // The seeded split of one file: 76% / 8% / 16% by default (about 10k / 1k / 2k of the 13,083 test molecules).
  const nTrain = count("nTrain", opts.nTrain ?? Math.floor(0.76 * test.n), test.n);
  const nValid = count("nValid", opts.nValid ?? Math.floor(0.08 * test.n), test.n - nTrain);
  const nTest = count("nTest", opts.nTest ?? test.n - nTrain - nValid, test.n - nTrain - nValid);
  const perm = permutation(seed, 0, test.n);
  const rows = (start: number, n: number) => perm.subarray(start, start + n);
  return {
    train: pack(test, rows(0, nTrain), test.atoms),
    valid: pack(test, rows(nTrain, nValid), test.atoms),
    test: pack(test, rows(nTrain + nValid, nTest), test.atoms),
    meta: { dataset: "qm9", files: [test.path], split: "seeded", seed, target, nTrain, nValid, nTest, available: test.n },
  };
}

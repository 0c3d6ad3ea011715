/** A page has no file system: checkpoints go through nn.saveBytes / nn.loadBytes there. */
import type * as Node from "../node/files.ts";

const noFiles = (path: string) => new Error(`${path}: a browser has no file system; use nn.saveBytes / nn.loadBytes (with a download, an upload or IndexedDB)`);

export const readFileBytes: typeof Node.readFileBytes = (path) => Promise.reject(noFiles(path));
export const writeFileAtomic: typeof Node.writeFileAtomic = (path) => Promise.reject(noFiles(path));

export { flatten, unflatten, leaves, structure, map, TreeDef, type PyTree } from "./tree.ts";

// Types for src/build/check-layers.mjs, imported by test/architecture.test.ts.
export declare const LAYERS: { src: string[]; assembly: string[] };
export declare function importGraph(repo: string, root: string): Map<string, string[]>;
export declare function circles(graph: Map<string, string[]>): string[][];
export declare function violations(repo: string, root: "src" | "assembly"): string[];

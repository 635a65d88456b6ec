// The dependency rule of ARCHITECTURE.md (src/build/check-layers.mjs): no import circle and no upward
// import between layers, in src/ and in assembly/. `npm run check:layers` prints the same lines.
import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { circles, importGraph, violations } from "../../src/build/check-layers.mjs";

const repo = fileURLToPath(new URL("../..", import.meta.url));

describe("layers", () => {
  it("src/: no import circle, no upward import (core < net < tcp < faces < tools < entries)", () => {
    expect(violations(repo, "src")).toEqual([]);
  });

  it("assembly/: no import circle, no upward import (wire < engine < export list)", () => {
    expect(violations(repo, "assembly")).toEqual([]);
  });

  it("the checker sees type-only imports and finds a circle through them", () => {
    const graph = new Map([
      ["src/tcp/a.ts", ["src/tcp/b.ts"]],
      ["src/tcp/b.ts", ["src/tcp/a.ts"]],
      ["src/core/c.ts", []],
    ]);
    expect(circles(graph)).toEqual([["src/tcp/a.ts", "src/tcp/b.ts"]]);
    // The real graph holds `import type` edges: the Web face's types of the stack are one.
    expect(importGraph(repo, "src").get("src/faces/web.ts")).toContain("src/tcp/stack.ts");
  });
});

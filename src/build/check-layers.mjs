#!/usr/bin/env node
// The dependency rule of ARCHITECTURE.md, checked: `npm run check:layers` (and test/architecture.test.ts,
// so `npm test` enforces it). Exit 1 with one line per violation.
//
// - No import circle in src/ or assembly/, counting `import type` too: a type-only circle is still two
//   modules that each need the other to be read.
// - No upward import between layers. src/: core < net < tcp < services < faces < tools, and the entry files at
//   the top of src/ may import any layer; src/web-demo/ (the browser demo) sits above the entries and imports the root one, as a page does; src/build/ (build tooling, shipped nowhere) sits above all. assembly/: wire < engine, and the files at the top of
//   assembly/ (the export list, build identity, scratch) and assembly/testing/ may import either.
//   A layer may import from its own layer and any layer below it.
//
// Imports are read with a regular expression over `import ... from "./x"` / `export ... from "./x"` /
// `import("./x")`: relative specifiers only (packages and node: built-ins are outside the rule).
import fs from "node:fs";
import path from "node:path";

/** Layers, lowest first; a file's layer is the first folder under its root ("" for the top files). */
export const LAYERS = {
  src: ["core", "net", "tcp", "services", "gateway", "faces", "tools", "", "web-demo", "build"],
  assembly: ["wire", "engine", "", "testing"],
};

function walk(dir, out) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.(ts|mts|mjs|js)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^;]*?\s+from\s+)?["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/gm;

/** The import graph of the files under `root` (repo-relative paths), type-only imports included. */
export function importGraph(repo, root) {
  const files = walk(path.join(repo, root), []).map((f) => path.relative(repo, f));
  const known = new Set(files);
  const resolve = (from, spec) => {
    const base = path.normalize(path.join(path.dirname(from), spec));
    const stem = base.replace(/\.(js|mjs|ts)$/, "");
    for (const c of [base, stem + ".ts", stem + ".mts", stem + ".mjs", stem + ".js", path.join(base, "index.ts")]) if (known.has(c)) return c;
    return null;
  };
  const graph = new Map();
  for (const f of files) {
    const text = fs.readFileSync(path.join(repo, f), "utf8");
    const deps = new Set();
    for (const m of text.matchAll(IMPORT)) {
      const r = resolve(f, m[1] ?? m[2]);
      if (r && r !== f) deps.add(r);
    }
    graph.set(f, [...deps]);
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan). */
export function circles(graph) {
  let index = 0;
  const idx = new Map(), low = new Map(), stack = [], on = new Set(), out = [];
  const strong = (v) => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
    for (const w of graph.get(v)) {
      if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const c = [];
      let w;
      do { w = stack.pop(); on.delete(w); c.push(w); } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const f of graph.keys()) if (!idx.has(f)) strong(f);
  return out;
}

/** The layer index of a repo-relative file under `root`. */
function layerOf(root, file) {
  const rel = path.relative(root, file).split(path.sep);
  const name = rel.length > 1 ? rel[0] : "";
  const i = LAYERS[root].indexOf(name);
  return i < 0 ? LAYERS[root].length : i;
}

/** Every violation under `root` ("src" or "assembly"), as readable lines. */
export function violations(repo, root) {
  const graph = importGraph(repo, root);
  const out = [];
  for (const c of circles(graph)) {
    out.push(`circle in ${root}/: ${c.map((f) => `${f} -> ${graph.get(f).filter((d) => c.includes(d)).join(", ")}`).join("; ")}`);
  }
  const order = LAYERS[root];
  for (const [f, deps] of graph) {
    const from = layerOf(root, f);
    if (from >= order.length) out.push(`${f}: in no layer of ${root}/ (${order.filter(Boolean).join(", ")})`);
    for (const d of deps) {
      const to = layerOf(root, d);
      if (to > from && from < order.length) {
        out.push(`upward import: ${f} (${order[from] || "top"}) imports ${d} (${order[to] || "top"})`);
      }
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
  let bad = 0;
  for (const root of ["src", "assembly"]) {
    const v = violations(repo, root);
    bad += v.length;
    for (const line of v) console.log(line);
    if (v.length === 0) console.log(`${root}/: no circle, no upward import (${importGraph(repo, root).size} files)`);
  }
  process.exit(bad ? 1 : 0);
}

// Package and bundle sizes: what `npm install` downloads (`npm pack --dry-run`), and what a page pays
// for `loadWire` alone and for a stack, bundled by esbuild from dist/ (splitting, minified; see
// bench/lib/bundle-size.ts) and, with no bundler, dist/tcpwasm.browser.js with the .wasm it fetches.
// Sizes are bytes, not times: the same on every machine for the same build.
import { execFileSync } from "node:child_process";
import { bundle, ENTRIES, PACKAGE_ROOT, shipped, type BundleFile } from "./lib/bundle-size.js";

const kB = (n: number) => `${(n / 1000).toFixed(1)} kB`;
const sum = (files: BundleFile[], key: "bytes" | "gzipBytes") => files.reduce((s, f) => s + f[key], 0);

export default async () => {
  // --ignore-scripts: the bench built dist/ already, and prepack's build log would precede the JSON.
  const [pack] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PACKAGE_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) as {
    size: number; unpackedSize: number; entryCount: number; files: { path: string; size: number }[];
  }[];
  const maps = pack!.files.filter((f) => f.path.endsWith(".map")).reduce((s, f) => s + f.size, 0);
  const rows: string[] = [];
  for (const [name, source] of Object.entries(ENTRIES)) {
    const b = await bundle(source);
    const simd = b.lazy.find((f) => f.inputs.some((i) => i.includes("wasm-simd")))!;
    const others = b.lazy.filter((f) => f !== simd);
    rows.push(`| \`${name}\`, bundled | ${kB(sum(b.initial, "bytes"))} / ${kB(sum(b.initial, "gzipBytes"))} | ${kB(simd.bytes)} / ${kB(simd.gzipBytes)} | **${kB(sum(b.initial, "gzipBytes") + simd.gzipBytes)}** | ${others.map((f) => `${f.path.replace(/^(?:.*\/)?(wasm-[a-z]+)-.*$/, "$1")} ${kB(f.gzipBytes)}`).join(", ")} |`);
  }
  const browser = shipped("dist/tcpwasm.browser.js");
  const wasm = shipped("dist/tcpwasm.simd.wasm");
  rows.push(`| any, no bundler: dist/tcpwasm.browser.js + tcpwasm.simd.wasm | ${kB(browser.bytes)} / ${kB(browser.gzipBytes)} | ${kB(wasm.bytes)} / ${kB(wasm.gzipBytes)} (streaming compile) | **${kB(browser.gzipBytes + wasm.gzipBytes)}** | the scalar or debug .wasm, fetched only when run |`);
  const markdown = `The package (\`npm pack --dry-run --json\`): **${kB(pack!.size)} packed**, ${kB(pack!.unpackedSize)} unpacked, ${pack!.entryCount} files, ${maps === 0 ? "no source maps" : `${kB(maps)} of source maps`}. Before this layout (the issue's figures): 738 kB packed, 1.27 MB of it source maps; every page downloaded the SIMD and the scalar build as base64, and the no-bundler file also carried the debug build.

What a page pays (raw / gzip -9). Bundled: an entry file importing from "tcpwasm", built by esbuild from dist/ with \`--bundle --splitting --minify --format=esm\`; the initial load is the entry chunk and its static imports, the WASM comes in its own chunk by dynamic import, one build per page (the SIMD one where the browser validates v128). No bundler: the file as shipped (unminified, readable) and the .wasm it fetches beside it.

| page | initial JS | WASM build loaded | total gzip | chunks never loaded unless asked for |
|---|---:|---:|---:|---|
${rows.join("\n")}

\`loadWire\` from \`tcpwasm/wire\` is the loader and the wire helpers alone, and from the root entry it costs the same within a few hundred bytes (before the root entry was made tree-shakeable: 80.2 kB / 28.2 kB initial JS, about a stack): the faces add \`stack.connect\`, \`listen\` and \`openUDPSocket\` to the Stack class in calls marked pure, kept only by \`createStack\` and the gateways (src/faces/stack-methods.ts), and the top-level constants a bundler could not drop are literals or pure.`;
  return { title: "Package and bundle sizes (bench/size.bench.ts)", markdown };
};

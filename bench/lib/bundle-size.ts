// What a page pays for tcpwasm, measured the way a bundler user gets it: small entry files bundled by
// esbuild from the built package (dist/, as `import ... from "tcpwasm"` resolves), with code
// splitting (what Vite, webpack and Rollup do with a dynamic import by default) and minified. The
// initial load is the entry chunk and everything it imports statically; the WASM build the page
// runs comes in a chunk of its own, loaded by dynamic import. Shared by bench/size.bench.ts (the
// figures) and test/host/bundle.test.ts (the properties).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

/**
 * The package root: the working directory, as `npm run bench` and vitest leave it (the benches run
 * bundled from node_modules/.cache, so this file's own URL says nothing about the package).
 */
export const PACKAGE_ROOT = process.cwd();
if ((JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { name?: string }).name !== "tcpwasm") {
  throw new Error(`bundle-size: run from the tcpwasm package root, not ${PACKAGE_ROOT}`);
}

/** One output file of a bundle: its name, size and what it was built from. */
export interface BundleFile {
  /** Output path relative to the bundle's directory. */
  path: string;
  bytes: number;
  gzipBytes: number;
  /** The package files it holds (dist/...). */
  inputs: string[];
  /** The text, for checks on what it carries. */
  text: string;
}

/** A bundle split into the initial load and the chunks loaded later by dynamic import. */
export interface Bundle {
  /** The entry chunk and its static imports, transitively. */
  initial: BundleFile[];
  /** Every other chunk (reached by dynamic import only). */
  lazy: BundleFile[];
}

const gzip = (b: Uint8Array) => gzipSync(b, { level: 9 }).length;

/**
 * Bundles `source` (an ES module importing from "tcpwasm" or "tcpwasm/node") with esbuild, splitting
 * and minifying, for `platform`. Needs `npm run build` (it bundles dist/).
 */
export async function bundle(source: string, platform: "browser" | "node" = "browser"): Promise<Bundle> {
  const dir = mkdtempSync(join(tmpdir(), "tcpwasm-size-"));
  try {
    writeFileSync(join(dir, "entry.js"), source);
    const result = await esbuild.build({
      entryPoints: [join(dir, "entry.js")],
      outdir: join(dir, "out"),
      bundle: true,
      splitting: true,
      minify: true,
      format: "esm",
      platform,
      target: "es2022",
      write: false,
      metafile: true,
      logLevel: "warning",
      external: platform === "node" ? ["node:*", "ws"] : [],
      plugins: [{
        name: "tcpwasm-from-dist",
        setup(b) {
          b.onResolve({ filter: /^tcpwasm(\/(node|wire))?$/ }, (args) => ({ path: join(PACKAGE_ROOT, "dist", `${args.path === "tcpwasm" ? "index" : args.path.slice("tcpwasm/".length)}.js`) }));
        },
      }],
    });
    const outputs = result.metafile.outputs;
    const texts = new Map(result.outputFiles.map((f) => [f.path, f]));
    const rel = (p: string) => p.slice(p.indexOf("out/") + 4);
    const file = (p: string): BundleFile => {
      const f = texts.get(join(PACKAGE_ROOT, p)) ?? [...texts.values()].find((o) => o.path.endsWith(p))!;
      return {
        path: rel(p),
        bytes: f.contents.length,
        gzipBytes: gzip(f.contents),
        inputs: Object.keys(outputs[p]!.inputs).map((i) => i.slice(i.indexOf("dist/"))),
        text: f.text,
      };
    };
    const entry = Object.keys(outputs).find((p) => outputs[p]!.entryPoint !== undefined)!;
    const initial = new Set<string>();
    const pending = [entry];
    while (pending.length) {
      const p = pending.pop()!;
      if (initial.has(p)) continue;
      initial.add(p);
      for (const i of outputs[p]!.imports) if (i.kind === "import-statement" && !i.external) pending.push(i.path);
    }
    return {
      initial: [...initial].map(file),
      lazy: Object.keys(outputs).filter((p) => !initial.has(p)).map(file),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A file of the package as it ships: its size and gzip size. */
export function shipped(path: string): { bytes: number; gzipBytes: number } {
  const b = readFileSync(join(PACKAGE_ROOT, path));
  return { bytes: b.length, gzipBytes: gzip(b) };
}

/** The start of every WebAssembly module ("\0asm" and version 1) in base64: an inlined build. */
export const WASM_BASE64_MAGIC = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]).toString("base64").slice(0, 10);

/** The entries measured: loadWire alone (from tcpwasm/wire, and from the root), and a stack with the Web face. */
export const ENTRIES = {
  "loadWire from tcpwasm/wire": `import { loadWire } from "tcpwasm/wire";
const wire = await loadWire();
console.log(wire.checksum(new Uint8Array([1, 2, 3, 4])));
`,
  "loadWire from tcpwasm": `import { loadWire } from "tcpwasm";
const wire = await loadWire();
console.log(wire.checksum(new Uint8Array([1, 2, 3, 4])));
`,
  stack: `import { createStack, createMemoryLinkPair } from "tcpwasm";
const [a, b] = createMemoryLinkPair();
const client = await createStack({ addresses: ["10.0.0.1/24"] });
const server = await createStack({ addresses: ["10.0.0.2/24"] });
client.attach(a);
server.attach(b);
server.listen({ port: 7 });
const socket = client.connect({ hostname: "10.0.0.2", port: 7 });
await socket.opened;
`,
};

// The package in a browser with no bundler: Debian's headless chromium loads dist/ by URL from a plain
// <script type="module"> (test/fixtures/browser/harness.ts) and must compute exactly what Node computes. The
// root entry's module graph is also checked statically for Node built-ins and require(), which a
// browser cannot load: the root entry must run in a browser as it is.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import * as tcpwasm from "../../src/index.js";
import { Prng } from "../../src/core/prng.js";
import { canRunChromium, PageRunError, runInPage } from "../fixtures/browser/harness.js";
import { PACKETS, toHex, wireWorkload, type WireWorkloadResult } from "../fixtures/browser/wire-workload.js";
import { checksumRef } from "../fixtures/checksum-reference.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WORKLOAD = fileURLToPath(new URL("../fixtures/browser/wire-workload.ts", import.meta.url));
const INPUT = { seed: 0x7c9a_11d3, size: 1 << 20 };

const probe = await canRunChromium();
if (!probe.ok) console.warn(`browser tests SKIPPED: ${probe.reason}`);

/** The workload's page script: the same function as in Node, handed the module under test. */
function workloadPage(entry: string): string {
  return `import * as tcpwasm from ${JSON.stringify(entry)};
import { wireWorkload } from "/workload.js";
export default (input) => wireWorkload(tcpwasm, input);
`;
}

let inNode: WireWorkloadResult;
beforeAll(async () => {
  inNode = await wireWorkload(tcpwasm, INPUT);
});

describe("the wire workload in Node (what the page must reproduce)", () => {
  it("checksums 1 MiB as the reference does on every build, and round-trips both packets", () => {
    const bytes = new Prng(INPUT.seed).fill(new Uint8Array(INPUT.size));
    const whole = checksumRef(bytes);
    const oddSlice = checksumRef(bytes.subarray(3, 3 + 65_535));
    expect(inNode.checksums).toEqual({ simd: { whole, oddSlice }, scalar: { whole, oddSlice }, debug: { whole, oddSlice } });
    expect(inNode.autoFlavor).toBe("simd");
    inNode.packets.forEach((packet, i) => {
      const { payloadLength, ...fields } = PACKETS[i]!;
      expect(packet.parsed).toMatchObject({
        src: fields.src,
        dst: fields.dst,
        srcPort: fields.srcPort,
        dstPort: fields.dstPort,
        seq: fields.seq,
        window: fields.window,
        payload: toHex(bytes.subarray(0, payloadLength)),
      });
      expect(packet.hex).toHaveLength(2 * ((i === 0 ? 20 : 40) + (packet.parsed as { tcpHeaderLength: number }).tcpHeaderLength + payloadLength));
      expect(packet.afterBitFlip).toEqual({ error: "TCP_CHECKSUM" });
    });
  });
});

describe.skipIf(!probe.ok)("in Debian's headless chromium", () => {
  it("dist/tcpwasm.browser.js loads from a plain <script type=module>, picks the SIMD build, and computes what Node computes", async () => {
    const inPage = await runInPage<WireWorkloadResult>(workloadPage("/dist/tcpwasm.browser.js"), {
      input: INPUT,
      modules: { "/workload.js": WORKLOAD },
    });
    expect(inPage.simdSupported).toBe(true);
    expect(inPage.autoFlavor).toBe("simd");
    expect(inPage).toEqual(inNode);
  });

  it("the root entry dist/index.js loads with its chunks (the debug build's included) and computes what Node computes", async () => {
    const inPage = await runInPage<WireWorkloadResult>(workloadPage("/dist/index.js"), {
      input: INPUT,
      modules: { "/workload.js": WORKLOAD },
    });
    expect(inPage).toEqual(inNode);
  });

  it("the harness fails a page that imports a Node built-in, and one that logs an error", async () => {
    const importsNodeFs = runInPage(`import { readFileSync } from "node:fs";\nexport default () => typeof readFileSync;`);
    await expect(importsNodeFs).rejects.toThrow(PageRunError);
    await expect(importsNodeFs).rejects.toThrow(/node:fs/);
    const logsError = runInPage(`export default () => { console.error("boom"); return 1; };`);
    await expect(logsError).rejects.toThrow(/reported 1 error\(s\)[\s\S]*\[error\] boom/);
  });
});

/**
 * Every file reached from `entry` (a path under `root`) by static or dynamic import, relative to
 * `root`, and every import that leaves the graph's files (a bare specifier or a require).
 */
async function moduleGraph(entry: string, root = ROOT): Promise<{ files: string[]; outside: string[] }> {
  const result = await build({
    entryPoints: [join(root, entry)],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "neutral",
    splitting: true,
    outdir: join(root, "graph-out"),
    logLevel: "silent",
    plugins: [
      {
        name: "keep-bare-specifiers",
        setup(b) {
          // Anything that is not a relative or absolute path (node:fs, fs, a package) stays external,
          // so it shows up in the metafile instead of being resolved from node_modules.
          b.onResolve({ filter: /^[^./]/ }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
  });
  const inputs: Metafile["inputs"] = result.metafile.inputs;
  const outside = Object.entries(inputs).flatMap(([file, { imports }]) =>
    imports.filter((i) => i.external || i.kind.startsWith("require")).map((i) => `${file}: ${i.kind} ${i.path}`),
  );
  return { files: Object.keys(inputs).sort(), outside: outside.sort() };
}

/** `node:` specifiers and require calls (esbuild writes a CommonJS require of a built-in as __require). */
function nodeOnlyReferences(files: string[], root = ROOT): string[] {
  return files.flatMap((file) =>
    [...readFileSync(join(root, file), "utf8").matchAll(/["']node:[^"']*["']|\b(?:__)?require\s*\(/g)].map((m) => `${file}: ${m[0]}`),
  );
}

describe("the browser entries' module graphs (static, from dist/)", () => {
  it("dist/index.js and the chunks it imports reference no Node built-in and no require()", async () => {
    const graph = await moduleGraph("dist/index.js");
    expect(graph.files).toContain("dist/index.js");
    expect(graph.files.some((f) => /^dist\/chunks\/wasm-debug-\w+\.js$/.test(f))).toBe(true);
    expect(graph.outside).toEqual([]);
    expect(nodeOnlyReferences(graph.files)).toEqual([]);
  });

  it("dist/tcpwasm.browser.js is one JS file (it fetches only its .wasm, by URL)", async () => {
    const graph = await moduleGraph("dist/tcpwasm.browser.js");
    expect(graph.files).toEqual(["dist/tcpwasm.browser.js"]);
    expect(graph.outside).toEqual([]);
    expect(nodeOnlyReferences(graph.files)).toEqual([]);
  });

  it("the check finds a Node built-in and a require() behind a dynamic import", async () => {
    const root = mkdtempSync(join(tmpdir(), "tcpwasm-graph-"));
    try {
      writeFileSync(join(root, "entry.js"), `export const later = () => import("./chunk.js");\n`);
      writeFileSync(
        join(root, "chunk.js"),
        `import { readFileSync } from "node:fs";\nexport const read = readFileSync;\nexport const os = () => require("os");\n`,
      );
      const graph = await moduleGraph("entry.js", root);
      expect(graph.files).toEqual(["chunk.js", "entry.js"]);
      expect(graph.outside).toEqual(["chunk.js: import-statement node:fs", "chunk.js: require-call os"]);
      expect(nodeOnlyReferences(graph.files, root)).toEqual(['chunk.js: "node:fs"', "chunk.js: require("]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

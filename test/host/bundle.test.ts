// What the package makes a page download, checked on the built package (`npm run build` first):
// bundled by esbuild from dist/ with code splitting (bench/lib/bundle-size.ts, which
// bench/size.bench.ts measures with), a page's initial load carries no WASM; each build is a chunk
// of its own loaded by dynamic import, so a page gets one build and the debug build only when asked
// for. The no-bundler file carries none and fetches the .wasm beside it. The packed package has no
// source maps and has its LICENSE. Sizes themselves are figures (bench/RESULTS.md), not assertions.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, ENTRIES, PACKAGE_ROOT, WASM_BASE64_MAGIC, type Bundle } from "../../bench/lib/bundle-size.js";
import { loadEngine, loadWire } from "../../src/index.js";

const FLAVORS = ["simd", "scalar", "debug"] as const;

/** Which build each lazy chunk carries (by the build/wasm-<flavor>.js module it was made from). */
function wasmChunks(b: Bundle): string[] {
  return b.lazy.map((f) => f.inputs.filter((i) => /wasm-(simd|scalar|debug)/.test(i)).map((i) => i.match(/wasm-(simd|scalar|debug)/)![1]).join("+")).sort();
}

describe("a page's bundle (esbuild, splitting, from dist/)", () => {
  for (const name of Object.keys(ENTRIES) as (keyof typeof ENTRIES)[]) {
    it(`${name}: no WASM in the initial load; each build, the debug one included, in a chunk of its own`, async () => {
      const b = await bundle(ENTRIES[name]);
      for (const f of b.initial) {
        expect({ file: f.path, inlinedWasm: f.text.includes(WASM_BASE64_MAGIC) }).toEqual({ file: f.path, inlinedWasm: false });
      }
      expect(wasmChunks(b)).toEqual(["debug", "scalar", "simd"]);
      for (const f of b.lazy) expect(f.text.split(WASM_BASE64_MAGIC).length - 1).toBe(1);
    });
  }

  for (const name of ["loadWire from tcpwasm/wire", "loadWire from tcpwasm"] as const) {
    it(`${name} brings no stack, face or DNS code`, async () => {
      const b = await bundle(ENTRIES[name]);
      const text = b.initial.map((f) => f.text).join("\n");
      for (const marker of ["ECONNREFUSED", "openUDPSocket", "SERVFAIL", "keepaliveCount", "MESSAGE_TYPE"]) expect(text, marker).not.toContain(marker);
    });
  }

  it("loadWire from the root entry costs what it costs from tcpwasm/wire, within 2% (the root is tree-shakeable)", async () => {
    const initial = async (name: keyof typeof ENTRIES) => {
      const b = await bundle(ENTRIES[name]);
      return { bytes: b.initial.reduce((s, f) => s + f.bytes, 0), gzipBytes: b.initial.reduce((s, f) => s + f.gzipBytes, 0) };
    };
    const wire = await initial("loadWire from tcpwasm/wire");
    const root = await initial("loadWire from tcpwasm");
    expect(root.bytes, `root ${root.bytes} B, wire ${wire.bytes} B`).toBeLessThanOrEqual(wire.bytes * 1.02);
    expect(root.gzipBytes, `root ${root.gzipBytes} B gzip, wire ${wire.gzipBytes} B`).toBeLessThanOrEqual(wire.gzipBytes * 1.02);
  });

  it("a page that makes its stacks with the root's createStack or createGateway has stack.connect, listen and openUDPSocket, and they work", async () => {
    const source = `import { createStack, createGateway, createMemoryLinkPair } from "tcpwasm";
const [a, b] = createMemoryLinkPair();
const client = await createStack({ addresses: ["10.0.0.1/24"] });
const server = await createStack({ addresses: ["10.0.0.2/24"] });
client.attach(a);
server.attach(b);
const listener = server.listen({ port: 7 });
const socket = client.connect({ hostname: "10.0.0.2", port: 7 });
const info = await socket.opened;
const udp = client.openUDPSocket({ remoteAddress: "10.0.0.2", remotePort: 9 });
const [g] = createMemoryLinkPair({ framing: "ethernet" });
const gateway = await createGateway({ link: g, connect: () => "reset" });
console.log(JSON.stringify([info.remoteAddress, typeof udp.opened.then, typeof gateway.stack.connect, typeof gateway.stack.listen, typeof gateway.stack.openUDPSocket]));
gateway.close(); client.close(); server.close(); void listener;
`;
    const b = await bundle(source);
    const dir = mkdtempSync(join(tmpdir(), "tcpwasm-page-"));
    try {
      writeFileSync(join(dir, "package.json"), '{ "type": "module" }');
      for (const f of [...b.initial, ...b.lazy]) {
        mkdirSync(dirname(join(dir, f.path)), { recursive: true });
        writeFileSync(join(dir, f.path), f.text);
      }
      const out = execFileSync(process.execPath, [join(dir, b.initial[0]!.path)], { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
      expect(JSON.parse(out)).toEqual(["10.0.0.2", "function", "function", "function", "function"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("the package as it ships", () => {
  it("dist/tcpwasm.browser.js carries no WASM; the three builds are .wasm files beside it; no source maps", () => {
    const browser = readFileSync(join(PACKAGE_ROOT, "dist/tcpwasm.browser.js"), "utf8");
    expect(browser).not.toContain(WASM_BASE64_MAGIC);
    for (const f of FLAVORS) {
      const bytes = readFileSync(join(PACKAGE_ROOT, `dist/tcpwasm.${f}.wasm`));
      expect(WebAssembly.validate(bytes)).toBe(true);
    }
    const maps = (readdirSync(join(PACKAGE_ROOT, "dist"), { recursive: true }) as string[]).filter((f) => f.endsWith(".map"));
    expect(maps).toEqual([]);
  });

  it("npm pack: LICENSE (MIT, as package.json says), the .wasm builds, no source maps", () => {
    // --ignore-scripts: pretest built dist/ already, and prepack's build log would precede the JSON.
    const [pack] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PACKAGE_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) as { files: { path: string }[] }[];
    const paths = pack!.files.map((f) => f.path);
    expect(paths).toContain("LICENSE");
    expect(readFileSync(join(PACKAGE_ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License/);
    expect((JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { license: string }).license).toBe("MIT");
    for (const f of FLAVORS) expect(paths).toContain(`dist/tcpwasm.${f}.wasm`);
    expect(paths.filter((p) => p.endsWith(".map"))).toEqual([]);
    expect(paths.filter((p) => p.startsWith("src/"))).toEqual([]);
  });
});

describe("package.json, as npm and a newcomer read it", () => {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as Record<string, any>;

  it("every entry of the exports map that is code has types, and each file it names is built", () => {
    for (const [entry, target] of Object.entries(pkg.exports as Record<string, string | Record<string, string>>)) {
      if (typeof target === "string") {
        expect(entry, "only package.json is exported without conditions").toBe("./package.json");
        continue;
      }
      expect(Object.keys(target)[0], `${entry}: "types" first, as TypeScript reads conditions in order`).toBe("types");
      for (const file of Object.values(target)) expect(existsSync(join(PACKAGE_ROOT, file)), `${entry}: ${file}`).toBe(true);
    }
    for (const field of ["main", "types"]) expect(existsSync(join(PACKAGE_ROOT, pkg[field])), field).toBe(true);
    expect(existsSync(join(PACKAGE_ROOT, pkg.bin.tcpwasm))).toBe(true);
  });

  it("npm pack and publish build dist/ first (prepack), which a fresh clone does not have", () => {
    expect(pkg.scripts.prepack).toBe("npm run build");
  });

  it("says what it is (description, keywords), the Node it needs, and that importing it runs nothing for its effect", () => {
    expect(pkg.description).toMatch(/TCP/);
    expect(pkg.keywords).toEqual(expect.arrayContaining(["tcp", "webassembly"]));
    expect(pkg.engines.node).toBe(">=20");
    expect(pkg.sideEffects).toBe(false);
    // No public repository exists to point at: no repository, homepage or bugs URL is made up.
    for (const field of ["repository", "homepage", "bugs"]) expect(pkg[field], field).toBeUndefined();
  });
});

describe("LoadOptions.wasm: a build from where the caller says", () => {
  let server: Server;
  let base: string;
  const served: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      served.push(req.url!);
      const [, flavor, type] = req.url!.match(/^\/(\w+)\.wasm(?:\?type=(\w+))?$/) ?? [];
      const file = join(PACKAGE_ROOT, `build/tcpwasm.${flavor}.wasm`);
      if (!flavor || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": type === "octet" ? "application/octet-stream" : "application/wasm" }).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it("a URL is fetched and compiled (streaming with application/wasm, else from the bytes); only the flavor picked is fetched", async () => {
    served.length = 0;
    const e1 = await loadEngine({ flavor: "scalar", wasm: { scalar: new URL(`${base}/scalar.wasm`), simd: `${base}/simd.wasm` } });
    expect(e1.flavor).toBe("scalar");
    expect(e1.exports.buildFlags() & 2).toBe(0);
    const e2 = await loadEngine({ flavor: "simd", wasm: { simd: `${base}/simd.wasm?type=octet` } });
    expect(e2.exports.buildFlags() & 2).toBe(2);
    expect(served).toEqual(["/scalar.wasm", "/simd.wasm?type=octet"]);
    const wire = await loadWire({ wasm: { simd: fetch(`${base}/simd.wasm`) } });
    expect(wire.checksum(new Uint8Array([0x45, 0, 0, 0x1c]))).toBeTypeOf("number");
  });

  it("bytes and a compiled module are taken as they are; a missing file rejects; bad options throw TcpwasmError", async () => {
    const bytes = readFileSync(join(PACKAGE_ROOT, "build/tcpwasm.scalar.wasm"));
    expect((await loadEngine({ flavor: "scalar", wasm: { scalar: bytes } })).flavor).toBe("scalar");
    const module = await WebAssembly.compile(bytes);
    expect((await loadEngine({ flavor: "scalar", wasm: { scalar: module } })).flavor).toBe("scalar");
    await expect(loadEngine({ flavor: "scalar", wasm: { scalar: `${base}/nothing.wasm` } })).rejects.toThrow(/HTTP 404/);
    await expect(loadEngine({ wasm: { fast: bytes } as never })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    await expect(loadEngine({ wasm: "x" as never })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_TYPE" });
  });
});

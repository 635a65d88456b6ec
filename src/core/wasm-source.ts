// Where the loader finds a build's bytes by default: inlined as base64, one module per build, each
// behind a dynamic import. A bundler splits each into a chunk of its own (as dist/ does), so a page
// downloads only the build it runs, and the debug build only when flavor "debug" is asked for; Node
// with no bundler reads the chunk like any module. No fetch of a sibling file and no import.meta.url
// handling, so every bundler takes the package with no configuration. dist/tcpwasm.browser.js swaps
// this module for wasm-sibling.ts (src/build/build.mjs). Browser-safe.

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** @internal The compiled build `flavor`, from its inlined bytes. */
export async function defaultModule(flavor: "simd" | "scalar" | "debug"): Promise<WebAssembly.Module> {
  // One literal import() per build, so that a bundler sees three separate chunks.
  const { wasm } =
    flavor === "simd" ? await import("../../build/wasm-simd.js")
    : flavor === "scalar" ? await import("../../build/wasm-scalar.js")
    : await import("../../build/wasm-debug.js");
  return WebAssembly.compile(decodeBase64(wasm) as BufferSource);
}

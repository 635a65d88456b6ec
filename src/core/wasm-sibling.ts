// The default wasm source of dist/tcpwasm.browser.js, the file a page loads with no bundler: each
// build is a .wasm file next to it (dist/tcpwasm.simd.wasm, ...), fetched by URL and compiled while
// it downloads (WebAssembly.compileStreaming). Only the build the page runs is fetched; the JS file
// carries no WASM at all. src/build/build.mjs puts this module in place of wasm-source.ts for that
// file only. Browser-safe.
import { compileSource } from "./wasm-compile.js";

/** @internal The compiled build `flavor`, fetched from beside this module. */
export function defaultModule(flavor: "simd" | "scalar" | "debug"): Promise<WebAssembly.Module> {
  return compileSource(new URL(`./tcpwasm.${flavor}.wasm`, import.meta.url));
}

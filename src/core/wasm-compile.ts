// Compiling a build from what a caller hands the loader (LoadOptions.wasm): a URL or a fetch
// Response is compiled while it downloads (WebAssembly.compileStreaming), bytes and modules as they
// are. Browser-safe.

/**
 * A build of the core as the caller has it: a URL (or URL text) fetched with `fetch`, a `Response`
 * (or a promise of one), the .wasm bytes, or a module already compiled.
 */
export type WasmSource = string | URL | Response | PromiseLike<Response> | BufferSource | WebAssembly.Module;

/** @internal Compiles `source`, streaming where it is a URL or a Response. */
export async function compileSource(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
  const response = typeof source === "string" || source instanceof URL ? fetch(source) : Promise.resolve(source as Response | PromiseLike<Response>);
  const r = await response;
  if (!r.ok) throw new Error(`fetching the WebAssembly build ${r.url} failed: HTTP ${r.status}`);
  if (typeof WebAssembly.compileStreaming === "function" && /^application\/wasm\b/.test(r.headers.get("content-type") ?? "")) {
    return WebAssembly.compileStreaming(r);
  }
  // compileStreaming insists on Content-Type application/wasm; a server that says otherwise still
  // serves the right bytes.
  return WebAssembly.compile(await r.arrayBuffer());
}

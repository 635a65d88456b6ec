// One loader for Node and browsers, with no bundler configuration: this file picks the build,
// compiles it once, and instantiates as many engines as the caller wants (two stacks in one process
// are two instances). Only the build picked is loaded: by default from its own inlined chunk
// (wasm-source.ts; a sibling .wasm file for dist/tcpwasm.browser.js), or from where the caller says
// (LoadOptions.wasm: a URL is compiled while it downloads).
import { instantiate } from "@assemblyscript/loader";
import { invalidType, invalidValue, optionsObject, validateKnownKeys, validateOneOf } from "./validate.js";
import { defaultModule } from "./wasm-source.js";
import { compileSource, type WasmSource } from "./wasm-compile.js";

export type { WasmSource } from "./wasm-compile.js";

/**
 * A build of the core: "simd" (WebAssembly SIMD for checksums and copies), "scalar" (no SIMD; the
 * same results) or "debug" (scalar with bounds checks and assertions, for tests).
 */
export type Flavor = "simd" | "scalar" | "debug";
/** @internal Every `flavor` option value loadEngine takes. */
export const FLAVORS: readonly (Flavor | "auto")[] = ["auto", "simd", "scalar", "debug"];

/** The core's raw exports: numbers in, numbers out, plus the linear memory. */
export interface CoreExports {
  /** The core's linear memory. */
  memory: WebAssembly.Memory;
  /** Which build this is, as bits: 1 debug, 2 SIMD. */
  buildFlags(): number;
  [name: string]: unknown;
}

// The smallest module that uses a v128 instruction: (func (result v128) v128.const 0).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

let simdVerdict: boolean | undefined;
/** True where this runtime validates WebAssembly SIMD (v128). */
export function simdSupported(): boolean {
  if (simdVerdict === undefined) simdVerdict = WebAssembly.validate(SIMD_PROBE);
  return simdVerdict;
}

const modules = new Map<Flavor, Promise<WebAssembly.Module>>();
/** The default source's build `flavor`, compiled once per process or page. */
function moduleFor(flavor: Flavor): Promise<WebAssembly.Module> {
  let m = modules.get(flavor);
  if (!m) {
    m = defaultModule(flavor);
    // A failed load (a network error) is not remembered: the next call tries again.
    m.catch(() => modules.delete(flavor));
    modules.set(flavor, m);
  }
  return m;
}

/**
 * Views over linear memory that survive memory growth: growth detaches the old ArrayBuffer (the
 * core's memory is never shared), which leaves every view of it with byteLength 0, so each getter
 * checks that length and re-creates the view when needed. `memory.buffer` and `view.buffer` are
 * calls into the runtime, several times the cost of the length check on a hot path.
 */
export class MemoryViews {
  #u8: Uint8Array;
  #dv: DataView;
  #dvOf: Uint8Array;
  /** Views over `memory`, the core's linear memory. */
  constructor(
    /** The memory viewed. */
    readonly memory: WebAssembly.Memory,
  ) {
    this.#u8 = new Uint8Array(memory.buffer);
    this.#dv = new DataView(memory.buffer);
    this.#dvOf = this.#u8;
  }
  /** A byte view of the whole memory, current after any growth. */
  get u8(): Uint8Array {
    if (this.#u8.byteLength === 0) this.#u8 = new Uint8Array(this.memory.buffer);
    return this.#u8;
  }
  /** A DataView of the whole memory, current after any growth. */
  get dv(): DataView {
    // A DataView of a detached buffer throws on byteLength: a byte view of the same buffer tells.
    if (this.#dvOf.byteLength === 0) {
      this.#dv = new DataView(this.memory.buffer);
      this.#dvOf = new Uint8Array(this.#dv.buffer);
    }
    return this.#dv;
  }
}

/** A core loadEngine instantiated: its flavor, its raw exports and cached views of its memory. */
export interface LoadedEngine<E extends CoreExports = CoreExports> {
  /** The build that was loaded ("auto" resolved). */
  readonly flavor: Flavor;
  /** The core's exports, numbers in and out. */
  readonly exports: E;
  /** Views of the core's linear memory, re-created when it grows. */
  readonly views: MemoryViews;
}

/** Which build of the core to load, and from where. */
export interface LoadOptions {
  /** "auto" (default) picks "simd" where WebAssembly.validate accepts v128, else "scalar". */
  flavor?: Flavor | "auto";
  /**
   * Where each build comes from, by flavor: a URL (compiled while it downloads, with
   * WebAssembly.compileStreaming), a Response, the bytes or a compiled module. Only the entry of the
   * flavor picked is used; a flavor left out loads as by default (its inlined chunk; the .wasm next
   * to dist/tcpwasm.browser.js for that file). The package ships the builds as
   * dist/tcpwasm.simd.wasm, dist/tcpwasm.scalar.wasm and dist/tcpwasm.debug.wasm.
   */
  wasm?: Partial<Record<Flavor, WasmSource>>;
}

const WASM_KEYS: ReadonlySet<string> = new Set(["simd", "scalar", "debug"]);

/**
 * Instantiates a fresh core. Each call is an independent engine with its own linear memory.
 * @throws TcpwasmError (as a rejection) ERR_INVALID_ARG_TYPE for options that are not an object,
 * ERR_INVALID_ARG_VALUE for an unknown `flavor`, or for "simd" or "debug" on a runtime without SIMD.
 */
export async function loadEngine<E extends CoreExports = CoreExports>(options: LoadOptions = {}): Promise<LoadedEngine<E>> {
  const o = optionsObject(options, "options");
  if (o.flavor !== undefined) validateOneOf(o.flavor, "options.flavor", FLAVORS);
  let flavor = o.flavor ?? "auto";
  if (flavor === "auto") flavor = simdSupported() ? "simd" : "scalar";
  if (flavor !== "scalar" && !simdSupported()) {
    invalidValue("options.flavor", flavor, "needs WebAssembly SIMD, which this runtime lacks (use \"scalar\" or \"auto\")");
  }
  let source: WasmSource | undefined;
  if (o.wasm !== undefined) {
    if (typeof o.wasm !== "object" || o.wasm === null) invalidType("options.wasm", "an object with simd, scalar or debug keys", o.wasm);
    validateKnownKeys(o.wasm as Record<string, unknown>, "options.wasm", WASM_KEYS);
    source = o.wasm[flavor];
  }
  const module = source === undefined ? await moduleFor(flavor) : await compileSource(source);
  // The AssemblyScript loader supplies env.abort (readable messages from the debug build), env.trace
  // and env.seed. Its `exports` wrap every function in a rest-argument closure (for optional
  // arguments, which no export of ours has): the host calls the instance's own exports instead.
  const loaded = await instantiate<E>(module, {});
  const exports = loaded.instance.exports as unknown as E;
  return { flavor, exports, views: new MemoryViews(exports.memory) };
}

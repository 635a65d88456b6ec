// tcpwasm: the browser-safe root entry. Web-platform APIs only: nothing here may import a Node built-in.
export { loadEngine, simdSupported, MemoryViews } from "./loader.js";
export type { Flavor, CoreExports, LoadedEngine, LoadOptions } from "./loader.js";

// tcpwasm/wire: the WebAssembly wire code on its own (loadWire: checksum, parse, encode) and the
// loader, without the stack. The root entry has the same exports and is tree-shakeable, so a bundle
// that imports only loadWire from it is this one's size (test/host/bundle.test.ts); this entry says
// so by its name, and a page without a bundler loads less.
// Browser-safe; the same module graph as the root entry (shared chunks, the same classes).
export { loadEngine, simdSupported, MemoryViews } from "./core/loader.js";
export type { Flavor, CoreExports, LoadedEngine, LoadOptions, WasmSource } from "./core/loader.js";
export { loadWire, formatIpv4, formatIpv6, parseIpv4, parseIpv6, REASON_NAMES, reasonName, type Wire, type ParsedPacket, type ParseError, type PacketFields, type ParseOptions, type TcpFlags, type TcpOptions, type TcpTimestamps, type ReasonName } from "./core/wire.js";
export { TcpwasmError, AbortError, type ErrorCode } from "./core/errors.js";

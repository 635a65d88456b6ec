// Test-only entry point (build/tcpwasm.testing.wasm, debug settings): thin numeric wrappers that let
// vitest drive the engine primitives in assembly/engine/ directly. Never shipped: the production
// export list stays assembly/index.ts.
export * from "./primitives";
export { seqLt, seqLe, seqGt, seqGe, seqMax, seqMin, seqInRange } from "../wire/seq";
export * from "./edge";

// Loads build/tcpwasm.testing.wasm (the test-only build of assembly/testing/index.ts, made by
// `npm run build:wasm`) for the engine-primitive tests. Each call is a fresh instance, so every test
// starts from an empty heap and unseeded globals.
import { readFileSync } from "node:fs";
import { instantiate } from "@assemblyscript/loader";

let compiled: WebAssembly.Module | undefined;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Prim = Record<string, any> & { memory: WebAssembly.Memory };

export async function loadPrimitives(): Promise<Prim> {
  if (!compiled) {
    const bytes = readFileSync(new URL("../build/tcpwasm.testing.wasm", import.meta.url));
    compiled = await WebAssembly.compile(bytes);
  }
  const instance = await instantiate(compiled, {});
  return instance.exports as unknown as Prim;
}

export function u8(p: Prim): Uint8Array {
  return new Uint8Array(p.memory.buffer);
}

export function dv(p: Prim): DataView {
  return new DataView(p.memory.buffer);
}

import { describe, expect, it } from "vitest";
import { loadEngine, simdSupported } from "../../src/index.js";

describe("loader", () => {
  it("Node 20 validates SIMD, so auto picks the SIMD release build", async () => {
    expect(simdSupported()).toBe(true);
    const e = await loadEngine();
    expect(e.flavor).toBe("simd");
    expect(e.exports.buildFlags()).toBe(0b10);
  });
  it("loads the scalar build without SIMD and the debug build with assertions", async () => {
    const scalar = await loadEngine({ flavor: "scalar" });
    expect(scalar.exports.buildFlags()).toBe(0b00);
    const debug = await loadEngine({ flavor: "debug" });
    expect(debug.exports.buildFlags()).toBe(0b11);
  });
  it("gives each call its own linear memory", async () => {
    const a = await loadEngine();
    const b = await loadEngine();
    expect(a.exports.memory).not.toBe(b.exports.memory);
  });
  it("re-creates cached views after memory growth", async () => {
    const e = await loadEngine();
    const before = e.views.u8;
    e.exports.memory.grow(1);
    expect(before.byteLength).toBe(0); // detached by growth
    expect(e.views.u8.byteLength).toBe(e.exports.memory.buffer.byteLength);
    expect(e.views.dv.byteLength).toBe(e.exports.memory.buffer.byteLength);
  });
});

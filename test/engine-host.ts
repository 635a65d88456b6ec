// Host-side helpers shared by the engine tests that run two engines or random input: a seeded PRNG,
// the zero-parse path from one engine's TX region into the other's RX region, and the output and
// events of one engine as arrays.
import type { Engine } from "../src/core/engine.js";
import type { EngineEvent } from "../src/core/events.js";
import { recordSize } from "../src/core/boundary.js";

/** A seeded xorshift32 stream of u32 values. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/**
 * Moves everything `from` has queued into `to`: each TX batch is copied as a block into the RX region
 * (the record layouts are the same) and handed to input. Returns the packets moved.
 */
export function moveAll(from: Engine, to: Engine, now: number): number {
  let moved = 0;
  for (;;) {
    const k = from.raw.engineOutput(now);
    if (k === 0) return moved;
    const base = from.raw.engineTxPtr() >>> 0;
    let off = 0;
    for (let i = 0; i < k; i++) off += recordSize(from.memory.dv.getUint32(base + off, true));
    to.memory.u8.set(from.memory.u8.subarray(base, base + off), to.raw.engineRxPtr() >>> 0);
    to.raw.engineInput(k, now);
    moved += k;
    if (!from.raw.engineOutputMore()) return moved;
  }
}

/** Every packet `engine` has queued, as copies the caller keeps (Engine.output with `keep`). */
export function takeOutput(engine: Engine, now: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  engine.output(now, (p) => out.push(p), true);
  return out;
}

/** The pending events, decoded, then cleared (Engine.events and eventAt). */
export function takeEvents(engine: Engine): EngineEvent[] {
  const out: EngineEvent[] = [];
  engine.events((_type, _code, _id, _a, at) => {
    const e = engine.eventAt(at);
    if (e) out.push(e);
  });
  return out;
}

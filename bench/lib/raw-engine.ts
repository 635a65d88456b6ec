// The raw-engine baseline the socket-face benches compare against (issue 4: the faces cost <= 25%),
// shared by bench/sockets.bench.ts and bench/node-duplex.bench.ts, and the microtask link they run
// stacks over:
// - rawBulk / rawChurnRow: two Engines (src/core/engine.ts, SIMD release build) driven by a synchronous
//   loop through the public driver API, moving the same bytes with the same copies as two stacks
//   do: send copies in (StackConnection.write), recv copies out (the stack's read copy), and each TX
//   batch is copied out once and passed to the peer's Engine.input, which copies it into the RX
//   region (the stack's output copy and its input copy). What the baseline leaves out is exactly what
//   the faces add: the link, microtask scheduling, event dispatch, per-connection objects and the
//   faces' own streams. The same workloads as the faces' rows: bulk one way, and sequential connect /
//   1 KiB each way / both close.
// - microtaskLinkPair: a Link pair that hands each batch to the peer in a microtask, so no timer or
//   macrotask stands between two stacks.
import { Engine } from "../../src/core/engine.js";
import { EventType } from "../../src/core/boundary.js";
import type { EngineConfig } from "../../src/core/settings.js";
import type { EventVisitor } from "../../src/core/events.js";
import type { Link, PacketHandler } from "../../src/net/link.js";
import { Prng } from "../../src/core/prng.js";
import type { ChurnRow } from "./sample.js";

/** 1 MiB of seeded bytes the benches send from (bulk wraps around it). */
export const SOURCE = new Prng(9).fill(new Uint8Array(1 << 20));

/** Bulk rows hand the data over in writes of this size, on every face and in the baseline. */
export const WRITE = 64 * 1024;

/** The next write of a bulk transfer of `bytes` after `sent`: up to WRITE bytes of SOURCE. */
export function nextWrite(sent: number, bytes: number): Uint8Array {
  const at = sent % SOURCE.length;
  return SOURCE.subarray(at, at + Math.min(WRITE, bytes - sent, SOURCE.length - at));
}

/**
 * Writes a bulk transfer of `bytes` (nextWrite's pieces) into a node:net-style writable, waiting for
 * 'drain' whenever write() says so.
 */
export function writeBytes(w: { write(piece: Uint8Array): boolean; once(event: "drain", f: () => void): unknown }, bytes: number): void {
  let sent = 0;
  const pump = () => {
    while (sent < bytes) {
      const piece = nextWrite(sent, bytes);
      sent += piece.length;
      if (!w.write(piece)) {
        w.once("drain", pump);
        return;
      }
    }
  };
  pump();
}

const RESOLVED = Promise.resolve();

export function microtaskLinkPair(): [Link, Link] {
  const make = () => {
    const end = {
      handler: undefined as PacketHandler | undefined,
      peer: undefined as unknown as { handler: PacketHandler | undefined },
      closed: false,
      send(packets: Uint8Array[]) {
        if (end.closed) return;
        // A reaction on a settled promise: cheaper than queueMicrotask in Node (no AsyncResource).
        RESOLVED.then(() => end.peer.handler?.(packets));
      },
      onReceive(h: PacketHandler) {
        end.handler = h;
      },
      close() {
        end.closed = true;
      },
      mtu: 1500,
    };
    return end;
  };
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

async function rawPair(config: EngineConfig = {}) {
  const a = await Engine.create({ flavor: "simd", config });
  const b = await Engine.create({ flavor: "simd", config });
  // Packets move as between two stacks, minus the link, the scheduling and the faces: each TX batch
  // is copied out once (Engine.output with `keep`, as Stack#flushOutput takes it, since a link owns
  // what it is given), and the views into that copy are handed to the peer's Engine.input (the copy
  // into its RX region that Stack#receive makes).
  const cross = (from: Engine, to: Engine, now: number): number => {
    const packets: Uint8Array[] = [];
    const moved = from.output(now, (p) => packets.push(p), true);
    if (moved > 0) to.input(packets, now);
    return moved;
  };
  const pump = (now: number) => {
    for (let i = 0; i < 10_000; i++) if (cross(a, b, now) + cross(b, a, now) === 0) return;
  };
  // Events are drained without an object each (Engine.events), as the stack does.
  let accepted = -1;
  const onEvent: EventVisitor = (type, _code, id) => {
    if (type === EventType.accepted) accepted = id;
  };
  const drainEvents = () => {
    a.events(onEvent);
    b.events(onEvent);
  };
  /** The connection b accepted since the last call (after a pump that completed a handshake). */
  const takeAccepted = (): number => {
    drainEvents();
    const id = accepted;
    if (id < 0) throw new Error("raw engine: no connection accepted");
    accepted = -1;
    return id;
  };
  return { a, b, pump, drainEvents, takeAccepted };
}

/** Gbit/s of `bytes` one way between two raw engines: WRITE-byte sends while the send ring takes them. */
export async function rawBulk(bytes: number, config: EngineConfig = {}): Promise<number> {
  const { a, b, pump, drainEvents, takeAccepted } = await rawPair(config);
  const l = b.listen({ port: 80 });
  const c = a.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80 }, performance.now());
  pump(performance.now());
  const s = takeAccepted();
  const start = performance.now();
  let sent = 0;
  let got = 0;
  while (got < bytes) {
    const now = performance.now();
    while (sent < bytes) {
      const piece = nextWrite(sent, bytes);
      const n = a.send(c, piece, now);
      sent += n;
      if (n < piece.length) break;
    }
    pump(now);
    got += b.recv(s, now).length;
    pump(now);
    a.timers(now);
    b.timers(now);
    drainEvents();
  }
  const seconds = (performance.now() - start) / 1000;
  a.release(c, performance.now());
  b.release(s, performance.now());
  b.release(l, performance.now());
  return (got * 8) / seconds / 1e9;
}

/**
 * The churn baseline, kept warm: each run(n) makes `n` sequential connect / 1 KiB each way / both
 * close cycles between two raw engines built once.
 */
export async function rawChurnRow(config: EngineConfig = {}): Promise<ChurnRow> {
  const { a, b, pump, drainEvents, takeAccepted } = await rawPair(config);
  const listener = b.listen({ port: 80 });
  const kib = SOURCE.subarray(0, 1024);
  const one = () => {
    let now = performance.now();
    const c = a.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80 }, now);
    pump(now);
    const s = takeAccepted();
    a.send(c, kib, now);
    a.close(c, now);
    pump(now);
    let got = 0;
    while (got < 1024) {
      got += b.recv(s, now).length;
      pump(now);
    }
    b.send(s, kib, now);
    b.close(s, now);
    pump(now);
    let back = 0;
    while (back < 1024) {
      now = performance.now();
      back += a.recv(c, now).length;
      pump(now);
      a.timers(now);
      b.timers(now);
    }
    drainEvents();
    a.release(c, now);
    b.release(s, now);
  };
  return {
    run(n: number) {
      for (let i = 0; i < n; i++) one();
    },
    close() {
      b.release(listener, performance.now());
    },
  };
}

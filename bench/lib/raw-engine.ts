// The raw-engine baseline the socket-face benches compare against (issue 4: the faces cost <= 25%),
// and the microtask link they run stacks over:
// - rawBulk / rawChurn: two Engines (src/engine.ts, SIMD release build) driven by a synchronous
//   loop through the public driver API (send copies in, recv copies out, output/input copy each
//   packet across). The same workloads as the faces' rows: bulk one way, and sequential connect /
//   1 KiB each way / both close.
// - microtaskLinkPair: a Link pair that hands each batch to the peer in a microtask, so no timer or
//   macrotask stands between two stacks.
import { Engine } from "../../src/engine.js";
import type { Link, PacketHandler } from "../../src/link/types.js";
import { Prng } from "../../src/prng.js";

/** 1 MiB of seeded bytes the benches send from (bulk wraps around it). */
export const SOURCE = new Prng(9).fill(new Uint8Array(1 << 20));

export function microtaskLinkPair(): [Link, Link] {
  const make = () => {
    const end = {
      handler: undefined as PacketHandler | undefined,
      peer: undefined as unknown as { handler: PacketHandler | undefined },
      closed: false,
      send(packets: Uint8Array[]) {
        if (end.closed) return;
        queueMicrotask(() => end.peer.handler?.(packets));
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

async function rawPair() {
  const a = await Engine.create({ flavor: "simd" });
  const b = await Engine.create({ flavor: "simd" });
  const pump = (now: number) => {
    for (let i = 0; i < 10_000; i++) {
      const pa = a.output(now);
      const pb = b.output(now);
      if (pa.length === 0 && pb.length === 0) return;
      if (pa.length) b.input(pa, now);
      if (pb.length) a.input(pb, now);
    }
  };
  return { a, b, pump };
}

/** Gbit/s of `bytes` one way between two raw engines. */
export async function rawBulk(bytes: number): Promise<number> {
  const { a, b, pump } = await rawPair();
  const l = b.listen({ port: 80 });
  const c = a.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80 }, performance.now());
  pump(performance.now());
  const s = b.events().find((e) => e.type === "accepted")!.id;
  a.events();
  const start = performance.now();
  let sent = 0;
  let got = 0;
  while (got < bytes) {
    const now = performance.now();
    if (sent < bytes) {
      const at = sent % SOURCE.length;
      sent += a.send(c, SOURCE.subarray(at, Math.min(SOURCE.length, at + bytes - sent)), now);
    }
    pump(now);
    got += b.recv(s, now).length;
    pump(now);
    a.timers(now);
    b.timers(now);
    a.events();
    b.events();
  }
  const seconds = (performance.now() - start) / 1000;
  a.release(c, performance.now());
  b.release(s, performance.now());
  b.release(l, performance.now());
  return (got * 8) / seconds / 1e9;
}

/** Connections per second: `n` sequential connect / 1 KiB each way / both close between two raw engines. */
export async function rawChurn(n: number): Promise<number> {
  const { a, b, pump } = await rawPair();
  b.listen({ port: 80 });
  const kib = SOURCE.subarray(0, 1024);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    let now = performance.now();
    const c = a.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80 }, now);
    pump(now);
    const s = b.events().find((e) => e.type === "accepted")!.id;
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
    a.events();
    b.events();
    a.release(c, now);
    b.release(s, now);
  }
  return n / ((performance.now() - start) / 1000);
}

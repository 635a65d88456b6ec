// The gateway splice in Node: a guest stack behind a gateway stack (Ethernet memory link, real clock)
// reaches a node:net server on 127.0.0.1 through the forwarder's default far side (connectNode).
// Data with SHA-256 both ways, half-close each way on its own, backpressure from a stalled far
// reader, resets both ways, and refusals.
import { describe, expect, it } from "vitest";
import type * as net from "node:net";
import { closedPort, gatewayNet, HOST, loopbackServer, socketSha } from "../fixtures/gateway.js";
import { collect, connected, data, sha, writeAll } from "../fixtures/stack-util.js";
import type { StackConnection } from "../../src/tcp/connection.js";

const MiB = 1 << 20;

function closed(conn: StackConnection): Promise<string | undefined> {
  return new Promise((resolve) => {
    conn.onClose = (error) => resolve(error?.code);
  });
}

function until(done: () => boolean, what: string, ms = 20_000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (done()) resolve();
      else if (Date.now() - start > ms) reject(new Error(`${what}: not within ${ms} ms`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

describe("gateway splice to node:net", () => {
  it("16 MiB each way with SHA-256 intact; each side's FIN crosses alone (half-close both ways)", async () => {
    const up = data(16 * MiB, 1);
    const down = data(16 * MiB, 2);
    let serverGot: Promise<{ sha: string; bytes: number }> | undefined;
    const server = await loopbackServer((s) => {
      serverGot = socketSha(s);
      // The server answers only after the guest's FIN: the guest's write side is closed, its read side open.
      serverGot.then(() => {
        s.write(down);
        s.end();
      });
    });
    const { net: p, forwarder } = await gatewayNet();
    try {
      const conn = p.a.openConnection({ remote: HOST, remotePort: server.port });
      await connected(conn);
      expect(forwarder.counters.spliced).toBe(1);
      const atGuest = collect(conn);
      const done = closed(conn);
      await writeAll(conn, up, true);
      const got = await serverGot!;
      expect(got).toEqual({ sha: sha([up]), bytes: up.length });
      await atGuest.ended;
      expect(sha(atGuest.chunks)).toBe(sha([down]));
      expect(await done).toBeUndefined();
      await until(() => forwarder.counters.open === 0, "splice over");
      expect(forwarder.counters).toMatchObject({ bytesUp: up.length, bytesDown: down.length, refused: 0 });
    } finally {
      p.close();
      await server.close();
    }
  }, 60_000);

  it("MTU 65535 end to end: 16 MiB up through the splice in segments of the largest MSS", async () => {
    const up = data(16 * MiB, 7);
    let got: Promise<{ sha: string; bytes: number }> | undefined;
    const server = await loopbackServer((s) => {
      got = socketSha(s);
      got.then(() => s.end());
    });
    const { net: p } = await gatewayNet({ mtu: 65535 });
    try {
      const conn = p.a.openConnection({ remote: HOST, remotePort: server.port });
      await connected(conn);
      // 65535 less 40 bytes of IPv4 and TCP headers, less 12 of timestamps.
      expect(conn.status().sendMss).toBe(65535 - 40 - 12);
      const done = closed(conn);
      conn.onData = () => {};
      await writeAll(conn, up, true);
      expect(await got!).toEqual({ sha: sha([up]), bytes: up.length });
      expect(await done).toBeUndefined();
      expect(p.la.stats.tooBig + p.lb.stats.tooBig).toBe(0);
    } finally {
      p.close();
      await server.close();
    }
  }, 60_000);

  it("the far side's FIN first: the guest reads its end and still sends, the far side reads it all", async () => {
    const greeting = data(100_000, 3);
    const reply = data(3 * MiB, 4);
    let got: Promise<{ sha: string; bytes: number }> | undefined;
    const server = await loopbackServer((s) => {
      got = socketSha(s);
      s.end(greeting);
    });
    const { net: p } = await gatewayNet();
    try {
      const conn = p.a.openConnection({ remote: HOST, remotePort: server.port });
      const atGuest = collect(conn);
      await atGuest.ended;
      expect(sha(atGuest.chunks)).toBe(sha([greeting]));
      await writeAll(conn, reply, true);
      expect(await got!).toEqual({ sha: sha([reply]), bytes: reply.length });
    } finally {
      p.close();
      await server.close();
    }
  }, 60_000);

  it("backpressure: a far reader that stalls closes the guest's window, and the gateway holds a bounded amount", async () => {
    let far: net.Socket | undefined;
    const server = await loopbackServer((s) => {
      far = s;
      s.pause();
    });
    const { net: p } = await gatewayNet();
    try {
      const conn = p.a.openConnection({ remote: HOST, remotePort: server.port });
      await connected(conn);
      const all = data(16 * MiB, 5);
      let written = 0;
      const pump = () => {
        while (written < all.length) {
          const n = conn.write(all.subarray(written, written + 65536));
          written += n;
          if (n === 0) return;
        }
      };
      conn.onWritable = pump;
      pump();
      // Stalled: the guest's send ring stays full and the gateway advertises a zero window.
      let last = -1;
      let still = 0;
      await until(() => {
        const s = conn.status();
        if (s.sndWnd === 0 && s.sendQueued === last) still++;
        else still = 0;
        last = s.sendQueued;
        return still >= 20;
      }, "the guest's window closed");
      expect(written).toBeLessThan(all.length);
      // What left the guest sits in the kernel's socket buffers, the splice's socket and the gateway's receive ring: far from 16 MiB.
      expect(written - conn.status().sendQueued).toBeLessThan(12 * MiB);
      // The far reader resumes: everything arrives.
      const got = socketSha(far!);
      far!.resume();
      await until(() => written === all.length, "all written", 30_000);
      conn.end();
      expect(await got).toEqual({ sha: sha([all]), bytes: all.length });
    } finally {
      p.close();
      await server.close();
    }
  }, 60_000);

  it("a far side's reset (RST) resets the guest: ECONNRESET", async () => {
    const server = await loopbackServer((s) => {
      s.once("data", () => s.resetAndDestroy());
    });
    const { net: p } = await gatewayNet();
    try {
      const conn = p.a.openConnection({ remote: HOST, remotePort: server.port });
      await connected(conn);
      const done = closed(conn);
      conn.onData = () => {};
      conn.write(data(1000, 6));
      expect(await done).toBe("ECONNRESET");
    } finally {
      p.close();
      await server.close();
    }
  }, 30_000);

  it("a guest's reset reaches the far side as ECONNRESET", async () => {
    let farError: Promise<string | undefined> | undefined;
    const server = await loopbackServer((s) => {
      farError = new Promise((resolve) => {
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code));
        s.on("close", () => resolve(undefined));
        s.resume();
      });
    });
    const { net: p } = await gatewayNet();
    try {
      const conn = p.a.openConnection({ remote: HOST, remotePort: server.port });
      await connected(conn);
      await until(() => farError !== undefined, "far accepted");
      conn.abort();
      expect(await farError).toBe("ECONNRESET");
    } finally {
      p.close();
      await server.close();
    }
  }, 30_000);

  it("a destination that refuses: the guest's SYN is answered with a RST (ECONNREFUSED), never a SYN,ACK", async () => {
    const port = await closedPort();
    const { net: p, forwarder } = await gatewayNet({ trace: true });
    try {
      const conn = p.a.openConnection({ remote: HOST, remotePort: port });
      expect(await closed(conn)).toBe("ECONNREFUSED");
      expect(p.sent("server")).toEqual(["RST,ACK 0"]);
      expect(forwarder.counters).toMatchObject({ requested: 1, refused: 1, spliced: 0, open: 0 });
    } finally {
      p.close();
    }
  }, 30_000);
});

// Floods from a hostile host on the link: SYNs from spoofed sources past every half-open cap (RFC
// 4987 SYN flooding, SYN cookies), and a peer that sends its stream in the worst order it can find
// (RFC 9293 3.10.7.4 out-of-order segments held for later, in bounded memory). The stacks are real
// (createStack) on a virtual clock; the raw peer builds every segment with the public wire encoder
// (test/fixtures/hostile.ts).
import { afterEach, describe, expect, it } from "vitest";
import type { StackConnection } from "../../../src/tcp/stack.js";
import { CLIENT, Hub, PORT, RawTcp, SERVER, bytes, hashingServer, memoryOf, settle, sha256, spoofedSyns } from "../../fixtures/hostile.js";

let hub: Hub | undefined;
afterEach(() => {
  hub?.close();
  hub = undefined;
});

describe("SYN flood (RFC 4987)", () => {
  it("20,000 spoofed SYNs: each answered once, half-open capped, SYN cookies past the cap, and 20 real clients still connect and echo intact", async () => {
    hub = await Hub.create();
    const server = await hub.stack(SERVER);
    const client = await hub.stack(CLIENT);
    // The server answers each request with the SHA-256 of what it read, then closes.
    hashingServer(server, PORT, (conn, side) => {
      conn.write(new TextEncoder().encode(side.hash.digest("hex")));
      conn.end();
    });
    hub.keepInbox = false;
    const flood = 20_000;
    const batch = 1000;
    let sent = 0;
    for (; sent < flood / 2; sent += batch) {
      hub.inject(spoofedSyns(hub, batch, sent));
      await settle();
    }
    const c = server.counters();
    // Every SYN got exactly one SYN-ACK (a half-open entry's or a cookie's), no time passed, so no
    // retransmission: what reached the spoofed sources is one segment per SYN.
    expect(hub.stats.toRaw).toBe(sent);
    expect(c.synCookiesSent).toBeGreaterThan(0);
    // RFC 4987 2.3: the half-open connections stay under the per-listener cap (1024 by default).
    expect(server.engine.liveConnections()).toBeLessThanOrEqual(1024 + 1);
    expect(c.synCookiesSent + server.engine.liveConnections() - 1).toBe(sent);

    // Real clients connect while the flood goes on: their SYNs get cookies too, and the cookie in
    // their ACK brings the connection back (RFC 4987 3.6).
    const replies: string[] = [];
    const requests = Array.from({ length: 20 }, (_, i) => bytes(3000 + 977 * i, 100 + i));
    let closed = 0;
    const failures: unknown[] = [];
    for (const [i, request] of requests.entries()) {
      const conn: StackConnection = client.openConnection({ remote: SERVER, remotePort: PORT });
      const got: Uint8Array[] = [];
      conn.onConnect = () => {
        conn.write(request);
        conn.end();
      };
      conn.onData = (chunk) => got.push(chunk);
      conn.onEnd = () => (replies[i] = Buffer.concat(got).toString());
      conn.onClose = (error) => {
        if (error) failures.push(error);
        closed++;
      };
      hub.inject(spoofedSyns(hub, batch / 2, sent));
      sent += batch / 2;
      await settle();
    }
    await hub.runUntil(() => closed === requests.length, "20 clients under the flood");
    expect(failures).toEqual([]);
    expect(replies).toEqual(requests.map((r) => sha256(r)));
    const after = server.counters();
    expect(after.synCookiesAccepted).toBeGreaterThanOrEqual(1);
    expect(after.resetsSent).toBe(0);
    expect(server.engine.liveConnections()).toBeLessThanOrEqual(1024 + 1 + requests.length);
  });
});

describe("out-of-order flood (SegmentSmack, CVE-2018-6922)", () => {
  it("a peer sending 1-byte segments into every other hole, backwards, costs bounded memory and the stream still arrives intact", async () => {
    hub = await Hub.create();
    const recvBuffer = 256 * 1024;
    const server = await hub.stack(SERVER, { config: { recvBuffer } });
    const sides = hashingServer(server);
    // Window scaling on: the whole 256 KiB ring is the window the flood aims into (unscaled, the
    // window is 65,535 bytes and most of the flood would be outside it, RFC 9293 3.10.7.4).
    const raw = new RawTcp(hub, { srcPort: 40001, wscale: 7 });
    await raw.open();
    const base = memoryOf(server);
    const data = bytes(200_000, 7);
    const start = raw.sndNxt;
    // Every other byte of the stream from the far end of the window back to the start, each in its
    // own segment (100,000 holes asked for), then overlapping 3-byte segments over the same range.
    let peak = 0;
    const forge = (off: number, len: number) =>
      raw.segment({ seq: (start + off) >>> 0, flags: { ack: true }, payload: data.subarray(off, off + len) });
    for (let hi = data.length - 1; hi > 0; hi -= 10_000) {
      const packets: Uint8Array[] = [];
      for (let off = hi; off > Math.max(0, hi - 10_000); off -= 2) packets.push(forge(off, 1));
      for (let off = hi - 1; off > Math.max(0, hi - 10_000); off -= 6) packets.push(forge(off, 3));
      hub.inject(packets);
      await settle();
      raw.replies();
      peak = Math.max(peak, server.engine.memoryInUse());
    }
    const c = server.counters();
    expect(c.oooDropped).toBeGreaterThan(0);
    // The receive ring (taken on the first data) and the bounded hole list: nothing per segment.
    expect(peak - base.pool).toBeLessThanOrEqual(recvBuffer + 4096);
    expect(sides[0]!.bytes).toBe(0);

    // The whole stream in order: every byte the flood left in the reassembly queue must agree.
    raw.sendData(data);
    raw.send({ flags: { ack: true, fin: true } });
    raw.sndNxt = (raw.sndNxt + 1) >>> 0;
    await hub.runUntil(() => sides[0]!.ended, "the stream after the flood");
    expect(sides[0]!.bytes).toBe(data.length);
    expect(sides[0]!.hash.digest("hex")).toBe(sha256(data));
    expect(server.counters().resetsSent).toBe(0);
  });
});

// The stack (src/tcp/stack.ts): two stacks over the in-memory link on a virtual clock (test/fixtures/
// stack-pair.ts), through the internal connection API the socket faces use. Data is checked with
// SHA-256; no assertion depends on how long anything takes, and a wait for something that never
// happens fails with the stacks' state.
import { describe, expect, it } from "vitest";
import { createStack, type Stack, type StackConnection, type StackOptions, type StackTimers } from "../../src/tcp/stack.js";
import { MicrotaskRounds } from "../../src/tcp/drain.js";
import { createMemoryLinkPair, type MemoryLinkOptions } from "../../src/net/memory-link.js";
import { TcpwasmError } from "../../src/core/errors.js";
import type { SegmentTrace, TraceEvent } from "../../src/core/trace.js";
import { reachedState, sentSegments } from "../fixtures/trace-util.js";
import { parseIpv4, parseIpv6 } from "../../src/core/wire.js";
import { checksumRef, pseudoHeaderSumV6Ref } from "../fixtures/checksum-reference.js";
import { buildPacket } from "../fixtures/wire-reference.js";
import { accepted, collect, connected, data, sha, writeAll } from "../fixtures/stack-util.js";
import { StackPair, VirtualNet, type StackPairOptions } from "../fixtures/stack-pair.js";

const FAST: StackOptions["config"] = { rtoInitialMs: 200, rtoMinMs: 100, mslMs: 50 };

function pair(options: StackPairOptions = {}): Promise<StackPair> {
  return StackPair.create({ ...options, config: { ...FAST, ...options.config } });
}

/** Resolves with the error (or undefined) the connection closes with. */
function closeOf(conn: StackConnection): Promise<TcpwasmError | undefined> {
  return new Promise((resolve) => {
    conn.onClose = resolve;
  });
}



describe("stack", () => {
  for (const [family, remote] of [["IPv4", "10.0.0.2"], ["IPv6", "fd00::2"]] as const) {
    it(`${family}: connect, transfer both ways, half-close, orderly close on both sides`, async () => {
      const p = await pair();
      const { a, b } = p;
      const request = data(1 << 20, 1);
      const response = data(600_000, 2);
      const server = accepted(b, 8080);
      const client = a.openConnection({ remote, remotePort: 8080 });
      expect(client.state).toBe("SYN-SENT");
      const clientClosed = closeOf(client);
      const clientIn = collect(client);
      await p.wait(connected(client), "connect");
      expect(client.state).toBe("ESTABLISHED");
      expect(client.remoteAddress).toBe(remote);
      const sending = writeAll(client, request, true);

      const s = await p.wait(server, "accept");
      expect(s.remoteAddress).toBe(client.localAddress);
      expect(s.remotePort).toBe(client.localPort);
      expect(s.localPort).toBe(8080);
      const serverClosed = closeOf(s);
      const serverIn = collect(s);
      // Half-close: the client's FIN arrives after its data, and the server still sends afterwards.
      await p.wait(serverIn.ended, "request and FIN");
      await p.wait(sending, "request written");
      expect(s.state).toBe("CLOSE-WAIT");
      expect(sha(serverIn.chunks)).toBe(sha([request]));
      await p.wait(writeAll(s, response, true), "response written");
      await p.wait(clientIn.ended, "response and FIN");
      expect(sha(clientIn.chunks)).toBe(sha([response]));
      expect(await p.wait(clientClosed, "client close")).toBeUndefined();
      expect(await p.wait(serverClosed, "server close")).toBeUndefined();
      expect(client.state).toBe("TIME-WAIT");
      expect(s.state).toBe("CLOSED");
      expect(client.bytesWritten).toBe(request.length);
      expect(s.bytesRead).toBe(request.length);
      expect(() => client.write(request)).toThrow(TcpwasmError);
      a.close();
      b.close();
    });
  }

  it("trace events carry every option of a segment: MSS, window scale, SACK-permitted, timestamps", async () => {
    const p = await pair({ traceClientOnly: true });
    const { a, b } = p;
    const server = accepted(b, 8081);
    const client = a.openConnection({ remote: "10.0.0.2", remotePort: 8081 });
    await p.wait(connected(client), "connect");
    await p.wait(server, "accept");
    const segments = p.traces.filter((e): e is SegmentTrace => e.kind === "segment");
    const syn = segments.find((e) => e.direction === "out" && e.flags === 0x002)!;
    const synAck = segments.find((e) => e.direction === "in" && e.flags === 0x012)!;
    const ack = segments.find((e) => e.direction === "out" && e.flags === 0x010)!;
    // Receive buffers that may grow to 4 MiB (recvBufferMax): window scale 7 (RFC 7323 2.3), offered
    // and answered, so that the window can grow past what a 256 KiB ring's scale of 3 could say.
    const ts = syn.options!.timestamps!.value;
    expect(syn.options).toEqual({ mss: 1460, wscale: 7, sackPermitted: true, timestamps: { value: ts, echo: 0 } });
    const peerTs = synAck.options!.timestamps!.value;
    expect(synAck.options).toEqual({ mss: 1460, wscale: 7, sackPermitted: true, timestamps: { value: peerTs, echo: ts } });
    expect(ack.options).toEqual({ timestamps: { value: ack.options!.timestamps!.value, echo: peerTs } });
    a.close();
    b.close();
  });

  it("abort sends RST: the peer closes with ECONNRESET, the aborting side with no error", async () => {
    const p = await pair();
    const { a, b } = p;
    const server = accepted(b, 80);
    const client = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
    const clientClosed = closeOf(client);
    await p.wait(connected(client), "connect");
    const s = await p.wait(server, "accept");
    const serverClosed = closeOf(s);
    s.onData = () => undefined;
    client.abort();
    expect(await p.wait(clientClosed, "client close")).toBeUndefined();
    const err = await p.wait(serverClosed, "server close");
    expect(err).toBeInstanceOf(TcpwasmError);
    expect(err?.code).toBe("ECONNRESET");
    expect(() => s.write(new Uint8Array(1))).toThrow(expect.objectContaining({ code: "ECONNRESET" }));
    a.close();
    b.close();
  });

  it("a port nobody listens on refuses: ECONNREFUSED", async () => {
    const p = await pair();
    const { a, b } = p;
    const client = a.openConnection({ remote: "10.0.0.2", remotePort: 9 });
    let isConnected = false;
    client.onConnect = () => (isConnected = true);
    const err = await p.wait(closeOf(client), "refusal");
    expect(isConnected).toBe(false);
    expect(err?.code).toBe("ECONNREFUSED");
    a.close();
    b.close();
  });

  it("a link that drops everything times the connect out: ETIMEDOUT", async () => {
    const p = await pair({ link: { loss: 1 }, config: { synRetries: 2, rtoInitialMs: 10, rtoMinMs: 10 } });
    const { a, b } = p;
    const client = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
    const err = await p.wait(closeOf(client), "connect timeout");
    expect(err?.code).toBe("ETIMEDOUT");
    expect(a.counters().timeouts).toBeGreaterThan(0);
    a.close();
    b.close();
  });

  it("listening twice on a port is EADDRINUSE; a foreign local address is EADDRNOTAVAIL", async () => {
    const p = await pair();
    const { a, b } = p;
    b.openListener({ port: 80 }, () => undefined);
    expect(() => b.openListener({ port: 80 }, () => undefined)).toThrow(expect.objectContaining({ code: "EADDRINUSE" }));
    expect(() => b.openListener({ port: 81, address: "10.0.0.9" }, () => undefined)).toThrow(expect.objectContaining({ code: "EADDRNOTAVAIL" }));
    const v4only = await p.stack({ addresses: ["10.0.0.5/24"] });
    expect(() => v4only.openConnection({ remote: "fd00::2", remotePort: 80 })).toThrow(expect.objectContaining({ code: "EADDRNOTAVAIL" }));
    v4only.close();
    a.close();
    b.close();
  });

  it("congestionControl: the engine's for connections that name none, a connection's or listener's own otherwise", async () => {
    const p = await pair({ config: { congestionControl: "cubic" } });
    const { a, b } = p;
    const server = accepted(b, 80);
    const client = a.openConnection({ remote: "10.0.0.2", remotePort: 80, congestionControl: "newreno" });
    const second = new Promise<StackConnection>((resolve) => b.openListener({ port: 81, congestionControl: "newreno" }, resolve));
    const other = a.openConnection({ remote: "10.0.0.2", remotePort: 81 });
    const up = Promise.all([connected(client), connected(other)]);
    await p.wait(up, "connect");
    expect(client.status().congestionControl).toBe("newreno");
    expect((await p.wait(server, "accept")).status().congestionControl).toBe("cubic");
    expect(other.status().congestionControl).toBe("cubic");
    expect((await p.wait(second, "accept")).status().congestionControl).toBe("newreno");
    a.close();
    b.close();
  });

  it("a paused reader shrinks the advertised window to zero; resume delivers everything", async () => {
    const p = await pair({ config: { recvBuffer: 64 * 1024, sendBuffer: 64 * 1024 } });
    const { a, b } = p;
    const server = accepted(b, 80);
    const client = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
    await p.wait(connected(client), "connect");
    const s = await p.wait(server, "accept");
    s.pause();
    const serverIn = collect(s);
    const payload = data(512 * 1024, 3);
    const sending = writeAll(client, payload, true);
    // The receive ring fills, the peer is told the window is zero, and the sender stops. Not to the
    // last byte: the SYN,ACK offered 65,535 bytes, unscaled (RFC 7323 2.2), that edge moves only by
    // min(buffer / 2, MSS) or more (RFC 9293 3.8.6.2.2), and the windows after it count units of 128
    // bytes (shift 7, chosen for the 4 MiB the ring may grow to), so the window reads zero with fewer
    // than 128 bytes free. A reader that reads nothing never grows the ring.
    await p.runUntil(() => client.status().sndWnd === 0 && s.status().recvQueued > 64 * 1024 - 128, "zero window");
    expect(s.status().recvBuffer).toBe(64 * 1024);
    expect(serverIn.chunks).toHaveLength(0);
    const stalledAt = client.status().sndUna;
    // Long enough for several zero-window probes (RFC 9293 3.8.6.1): none of them moves SND.UNA.
    await p.advance(2_000);
    expect(client.status().sndUna).toBe(stalledAt);
    s.resume();
    await p.wait(serverIn.ended, "data and FIN");
    await p.wait(sending, "all written");
    expect(sha(serverIn.chunks)).toBe(sha([payload]));
    a.close();
    b.close();
  });

  it("keeps one timer armed at a time, and survives timers that fire late, in bunches and after being cleared", async () => {
    // A throttled page: callbacks run only on a 30 ms tick (of the virtual clock), all together,
    // late; clearTimeout is ignored so stale callbacks fire too. The stack must still finish a lossy
    // transfer correctly.
    const pending: { fn: () => void; at: number }[] = [];
    let live = 0;
    let maxLive = 0;
    let clock = () => 0;
    const throttled: StackTimers = {
      setTimeout(fn, ms) {
        live++;
        maxLive = Math.max(maxLive, live);
        const entry = { fn, at: clock() + ms };
        pending.push(entry);
        return entry;
      },
      clearTimeout() {
        live--;
      },
    };
    const p = await pair({ link: { loss: 0.05, seed: 7 }, timers: { a: throttled, b: throttled } });
    clock = p.clock.read;
    const tick = () => {
      const due = pending.filter((e) => e.at <= p.now);
      for (const e of due) pending.splice(pending.indexOf(e), 1);
      for (const e of due) {
        live = Math.max(0, live - 1);
        e.fn();
      }
      p.clock.setTimeout(tick, 30);
    };
    p.clock.setTimeout(tick, 30);
    const { a, b } = p;
    const server = accepted(b, 80);
    const client = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
    const clientClosed = closeOf(client);
    const payload = data(256 * 1024, 4);
    await p.wait(connected(client), "connect");
    const sending = writeAll(client, payload, true);
    const s = await p.wait(server, "accept");
    const serverIn = collect(s);
    await p.wait(serverIn.ended, "data and FIN");
    s.end();
    await p.wait(sending, "all written");
    expect(sha(serverIn.chunks)).toBe(sha([payload]));
    expect(await p.wait(clientClosed, "client close")).toBeUndefined();
    expect(a.counters().retransmits + a.counters().fastRetransmits).toBeGreaterThan(0);
    // Two stacks, each with at most one timer armed.
    expect(maxLive).toBeLessThanOrEqual(2);
    a.close();
    b.close();
  });

  it("answers ICMP and ICMPv6 echo requests to its addresses and drops packets for others", async () => {
    const net = new VirtualNet();
    const [link, wire] = net.linkPair();
    const stack = await net.stack({ addresses: ["10.0.0.1/24", "fd00::1/64"] });
    stack.attach(link);
    const replies: Uint8Array[] = [];
    wire.onReceive((packets) => replies.push(...packets));
    const payload = Uint8Array.from({ length: 56 }, (_, i) => i);
    const echo = (v6: boolean, src: Uint8Array, dst: Uint8Array) => {
      const msg = new Uint8Array(8 + payload.length);
      msg[0] = v6 ? 128 : 8;
      msg.set([0xbe, 0xef, 0x00, 0x07], 4);
      msg.set(payload, 8);
      const sum = checksumRef(msg, v6 ? pseudoHeaderSumV6Ref(src, dst, 58, msg.length) : 0);
      msg[2] = sum >> 8;
      msg[3] = sum & 0xff;
      return buildPacket({ v6, src, dst, ipProto: v6 ? 58 : 1, payload: msg });
    };
    const peer4 = parseIpv4("10.0.0.2")!;
    const peer6 = parseIpv6("fd00::2")!;
    wire.send([
      echo(false, peer4, parseIpv4("10.0.0.1")!),
      echo(true, peer6, parseIpv6("fd00::1")!),
      echo(false, peer4, parseIpv4("10.0.0.77")!),
      echo(true, peer6, parseIpv6("fd00::77")!),
    ]);
    await net.runUntil(() => replies.length >= 2 && stack.stackCounters.notForUs >= 2, "echo replies");
    await net.advance(10);
    expect(replies).toHaveLength(2);
    const [r4, r6] = replies[0]![0]! >> 4 === 4 ? [replies[0]!, replies[1]!] : [replies[1]!, replies[0]!];
    expect([...r4.subarray(12, 16)]).toEqual([10, 0, 0, 1]);
    expect([...r4.subarray(16, 20)]).toEqual([...peer4]);
    expect(r4[20]).toBe(0); // echo reply
    expect([...r4.subarray(24, 28)]).toEqual([0xbe, 0xef, 0x00, 0x07]);
    expect([...r4.subarray(28)]).toEqual([...payload]);
    expect(checksumRef(r4.subarray(20), 0)).toBe(0);
    expect([...r6.subarray(24, 40)]).toEqual([...peer6]);
    expect(r6[40]).toBe(129);
    expect([...r6.subarray(48)]).toEqual([...payload]);
    expect(stack.counters().icmpEchoReplies).toBe(2);
    expect(stack.stackCounters.notForUs).toBe(2);
    stack.close();
    wire.close();
  });

  it("lends its output to a link that copies on send (views of one memory, batch by batch), and gives copies to one that does not", async () => {
    // A TX region of 68 KiB: each drain of a 1 MiB transfer builds many TX batches in a row.
    const config = { ...FAST, txRegion: 65536 + 4096 };
    const run = async (copiesOnSend: boolean) => {
      const [la, lb] = createMemoryLinkPair();
      const buffers = new Set<ArrayBufferLike>();
      const kept: { packet: Uint8Array; bytes: Uint8Array }[] = [];
      // The client's link: records what it is handed, then sends it on through the memory link.
      const link = {
        copiesOnSend,
        mtu: la.mtu,
        send(packets: Uint8Array[]) {
          for (const p of packets) {
            buffers.add(p.buffer);
            if (!copiesOnSend && kept.length < 64) kept.push({ packet: p, bytes: p.slice() });
          }
          la.send(packets);
        },
        onReceive: (handler: (packets: Uint8Array[]) => void) => la.onReceive(handler, { copies: true }),
        close: () => la.close(),
      };
      const a = await createStack({ addresses: ["10.0.0.1/24"], config });
      const b = await createStack({ addresses: ["10.0.0.2/24"], config });
      a.attach(link);
      b.attach(lb);
      const request = data(1 << 20, 3);
      const server = accepted(b, 80);
      const client = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
      await connected(client);
      const sending = writeAll(client, request, true);
      const serverIn = collect(await server);
      await serverIn.ended;
      await sending;
      a.close();
      b.close();
      expect(sha(serverIn.chunks)).toBe(sha([request]));
      return { buffers, kept };
    };
    const lent = await run(true);
    // Every packet was a view of the engine's linear memory: one buffer, larger than its TX region.
    expect(lent.buffers.size).toBe(1);
    expect([...lent.buffers][0]!.byteLength).toBeGreaterThan(4 * config.txRegion);
    const owned = await run(false);
    expect(owned.buffers.size).toBeGreaterThan(1);
    // Packets a link was given to own are never touched again.
    expect(owned.kept.length).toBeGreaterThan(0);
    for (const k of owned.kept) expect(k.packet).toEqual(k.bytes);
  });

  it("routes output by destination prefix across two links", async () => {
    const net = new VirtualNet();
    const [l1, w1] = net.linkPair();
    const [l2, w2] = net.linkPair();
    const stack = await net.stack({ addresses: ["10.0.0.1/24", "10.1.0.1/24"] });
    stack.attach(l1, { routes: ["10.0.0.0/24"] });
    stack.attach(l2, { routes: ["0.0.0.0/0"] });
    const on1: Uint8Array[] = [];
    const on2: Uint8Array[] = [];
    w1.onReceive((p) => on1.push(...p));
    w2.onReceive((p) => on2.push(...p));
    stack.openConnection({ remote: "10.0.0.9", remotePort: 80 });
    stack.openConnection({ remote: "192.0.2.9", remotePort: 80 });
    await net.runUntil(() => on1.length >= 1 && on2.length >= 1, "a SYN on each link");
    expect([...on1[0]!.subarray(12, 20)]).toEqual([10, 0, 0, 1, 10, 0, 0, 9]);
    // Off-link destination: the source is the stack's first address.
    expect([...on2[0]!.subarray(12, 20)]).toEqual([10, 0, 0, 1, 192, 0, 2, 9]);
    stack.close();
    w1.close();
    w2.close();
  });

  it("close() tears down: connections close with ERR_SOCKET_CLOSED and the peer sees a reset", async () => {
    const p = await pair();
    const { a, b } = p;
    const server = accepted(b, 80);
    const client = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
    const clientClosed = closeOf(client);
    await p.wait(connected(client), "connect");
    const s = await p.wait(server, "accept");
    s.onData = () => undefined;
    const serverClosed = closeOf(s);
    a.close();
    expect((await p.wait(clientClosed, "client close"))?.code).toBe("ERR_SOCKET_CLOSED");
    expect((await p.wait(serverClosed, "server close"))?.code).toBe("ECONNRESET");
    expect(() => a.openConnection({ remote: "10.0.0.2", remotePort: 80 })).toThrow(expect.objectContaining({ code: "ERR_SOCKET_CLOSED" }));
    b.close();
  });
});

describe("when output leaves (Node: the drain waits for the microtask queue)", () => {
  /** Two traced stacks over the memory link (StackPair.sent: the segments each side sent, as "FLAGS len"). */
  const tracedPair = (serverTimers?: StackTimers) => pair({ trace: true, timers: { b: serverTimers } });

  it("an answer written in onEnd rides in the segment that acknowledges the data and FIN; a write on connect carries the handshake's ACK", async () => {
    const p = await tracedPair();
    const { a, b } = p;
    b.openListener({ port: 80 }, (conn) => {
      conn.onData = () => undefined;
      conn.onEnd = () => {
        conn.write(data(300, 2));
        conn.end();
      };
    });
    const c = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
    c.onConnect = () => {
      c.write(data(100, 1));
      c.end();
    };
    c.onData = () => undefined;
    expect(await p.wait(closeOf(c), "client close")).toBeUndefined();
    await p.runUntil(() => p.reached("server", "CLOSED"), "server CLOSED");
    // Five segments in all, the fewest a request, a reply and both closes take.
    expect(p.sent("client")).toEqual(["SYN 0", "FIN,PSH,ACK 100", "ACK 0"]);
    expect(p.sent("server")).toEqual(["SYN,ACK 0", "FIN,PSH,ACK 300"]);
    a.close();
    b.close();
  });

  it("every Node-shaped timer is unref'd as it is set (protocol timers keep no process alive); with no deadline left it is kept, not cleared", async () => {
    // The server's timer handles are shaped like Node's (ref/unref) and never fire: packets drive
    // this exchange, and what matters is what the stack asks of its timer.
    const log: string[] = [];
    const serverTimers: StackTimers = {
      setTimeout() {
        log.push("set");
        return { ref: () => log.push("ref"), unref: () => log.push("unref") };
      },
      clearTimeout() {
        log.push("clear");
      },
    };
    const p = await tracedPair(serverTimers);
    const { a, b } = p;
    b.openListener({ port: 80 }, (conn) => {
      conn.onData = () => undefined;
      conn.onEnd = () => conn.end();
    });
    const cycle = async () => {
      const c = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
      c.onConnect = () => c.end();
      c.onData = () => undefined;
      expect(await p.wait(closeOf(c), "client close")).toBeUndefined();
    };
    await cycle();
    await p.runUntil(() => p.reached("server", "CLOSED"), "server CLOSED");
    expect(log.length).toBeGreaterThan(0);
    for (let i = 0; i < log.length; i++) if (log[i] === "set") expect(log[i + 1]).toBe("unref");
    expect(log).not.toContain("ref");
    // The server passively closed (LAST-ACK, then CLOSED): nothing left to time; the stale timer is
    // kept, and it is due no later than the next connection's deadlines, so they set none.
    expect(log.at(-1)).toBe("unref");
    const idleAt = log.length;
    await cycle();
    expect(log.length).toBe(idleAt);
    a.close();
    b.close();
  });

  it("where there is no process.nextTick the drain waits rounds of the microtask queue after the last call, within a cap", async () => {
    // Runs `arm` and counts microtask rounds until the queued callback runs; `onRound` sees each round.
    const roundsUntilRun = async (onRound: (round: number, rounds: MicrotaskRounds) => void) => {
      const rounds = new MicrotaskRounds(3, 10);
      let round = 0;
      let ranAt = -1;
      rounds.queue(() => (ranAt = round));
      for (round = 1; ranAt < 0 && round < 100; round++) {
        onRound(round, rounds);
        await Promise.resolve();
      }
      return ranAt;
    };
    expect(await roundsUntilRun(() => undefined)).toBe(3);
    // Renewed during round 2: three rounds counted from that one.
    expect(await roundsUntilRun((round, r) => round === 2 && r.renew())).toBe(4);
    expect(await roundsUntilRun((_, r) => r.renew())).toBe(10);
  });
});
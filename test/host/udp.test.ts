// UDP sockets on stacks (src/tcp/udp.ts over assembly/engine/udp.ts): two stacks over a memory link
// on the virtual clock, IPv4 and IPv6, bound and connected sockets, ephemeral ports, EADDRINUSE,
// EMSGSIZE, ICMP port unreachable reported to a connected socket, loopback without a link, and
// batches larger than the engine's regions.
import { describe, expect, it } from "vitest";
import type { Stack, UdpMessage } from "../../src/tcp/stack.js";
import { StackPair, VirtualNet } from "../fixtures/stack-pair.js";
import { thrownCode } from "../fixtures/thrown.js";
import { udpPacket } from "../fixtures/udp-packets.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function inbox(): { messages: UdpMessage[]; handler: (m: UdpMessage) => void; texts: () => string[] } {
  const messages: UdpMessage[] = [];
  return { messages, handler: (m) => messages.push(m), texts: () => messages.map((m) => dec(m.data)) };
}

/** A server socket on `port` of `stack` that echoes every datagram back to its sender. */
function echo(stack: Stack, port: number, localAddress?: string) {
  const sock = stack.openUdp({ localPort: port, localAddress }, (m) => sock.send(m.data, m.remoteAddress, m.remotePort));
  return sock;
}

describe("UDP between two stacks", () => {
  for (const [client, server] of [["10.0.0.1", "10.0.0.2"], ["fd00::1", "fd00::2"]] as const) {
    it(`an echo over ${client.includes(":") ? "IPv6" : "IPv4"}: messages keep their boundaries, order and addresses`, async () => {
      const pair = await StackPair.create();
      echo(pair.b, 7);
      const got = inbox();
      const sock = pair.a.openUdp({}, got.handler);
      expect(sock.localPort).toBeGreaterThanOrEqual(49152);
      expect(sock.localAddress).toBe("::");
      for (const t of ["one", "", "three".repeat(200)]) expect(sock.send(enc(t), server, 7)).toBe(true);
      await pair.runUntil(() => got.messages.length === 3, "three echoes");
      expect(got.texts()).toEqual(["one", "", "three".repeat(200)]);
      expect(got.messages[0]).toMatchObject({ remoteAddress: server, remotePort: 7, localAddress: client, broadcast: false });
      expect(pair.a.counters()).toMatchObject({ udpDatagramsOut: 3, udpDelivered: 3 });
      pair.close();
    });
  }

  it("a connected socket sends to its peer, takes only its datagrams, and hears ECONNREFUSED from a closed port", async () => {
    const pair = await StackPair.create();
    const got = inbox();
    const sock = pair.a.openUdp({ remoteAddress: "10.0.0.2", remotePort: 9 }, got.handler);
    expect(sock.remoteAddress).toBe("10.0.0.2");
    const errors: string[] = [];
    sock.onError((e) => errors.push(e.code));
    sock.send(enc("anyone?"));
    await pair.runUntil(() => errors.length === 1, "the ICMP error");
    expect(errors).toEqual(["ECONNREFUSED"]);
    expect(pair.b.counters()).toMatchObject({ udpNoPort: 1, udpUnreachableSent: 1 });
    // A server comes up; someone else on the server stack writes to our port: not taken.
    const srv = echo(pair.b, 9);
    const stranger = pair.b.openUdp({ localPort: 10 }, () => {});
    stranger.send(enc("not from 9"), "10.0.0.1", sock.localPort);
    sock.send(enc("now?"));
    await pair.runUntil(() => got.messages.length === 1, "the echo");
    await pair.advance(10);
    expect(got.texts()).toEqual(["now?"]);
    expect(thrownCode(() => sock.send(enc("x"), "10.0.0.2", 9))).toBe("ERR_SOCKET_DGRAM_IS_CONNECTED");
    sock.disconnect();
    expect(thrownCode(() => sock.send(enc("x")))).toBe("ERR_SOCKET_DGRAM_NOT_CONNECTED");
    expect(thrownCode(() => sock.disconnect())).toBe("ERR_SOCKET_DGRAM_NOT_CONNECTED");
    srv.close();
    pair.close();
  });

  it("binding: EADDRINUSE on a taken port, EADDRNOTAVAIL for an address not ours, a closed socket frees its port", async () => {
    const pair = await StackPair.create();
    const a = pair.a.openUdp({ localPort: 5000 }, () => {});
    expect(thrownCode(() => pair.a.openUdp({ localPort: 5000 }, () => {}))).toBe("EADDRINUSE");
    expect(thrownCode(() => pair.a.openUdp({ localPort: 5000, localAddress: "10.0.0.1" }, () => {}))).toBe("EADDRINUSE");
    expect(thrownCode(() => pair.a.openUdp({ localAddress: "10.9.9.9" }, () => {}))).toBe("EADDRNOTAVAIL");
    const shared = [1, 2].map(() => pair.a.openUdp({ localPort: 67, reuseAddress: true }, () => {}));
    expect(shared.map((s) => s.localPort)).toEqual([67, 67]);
    a.close();
    a.close();
    expect(thrownCode(() => a.send(enc("x"), "10.0.0.2", 1))).toBe("ERR_SOCKET_DGRAM_NOT_RUNNING");
    const again = pair.a.openUdp({ localPort: 5000, localAddress: "fd00::1" }, () => {});
    expect(again.localAddress).toBe("fd00::1");
    expect(thrownCode(() => again.send(enc("x"), "10.0.0.2", 1))).toBe("EINVAL");
    expect(thrownCode(() => pair.a.openUdp({ localPort: 70000 }, () => {}))).toBe("ERR_OUT_OF_RANGE");
    pair.close();
    expect(thrownCode(() => pair.a.openUdp({}, () => {}))).toBe("ERR_SOCKET_CLOSED");
  });

  it("onClose: once, without an error from close(), with ERR_SOCKET_CLOSED when the stack closes", async () => {
    const pair = await StackPair.create();
    const closes: Array<string | undefined> = [];
    const a = pair.a.openUdp({}, () => {});
    const b = pair.a.openUdp({}, () => {});
    a.onClose((e) => closes.push(e?.code));
    b.onClose((e) => closes.push(e?.code));
    a.close();
    a.close();
    pair.a.close();
    expect(closes).toEqual([undefined, "ERR_SOCKET_CLOSED"]);
    expect(b.closed).toBe(true);
    pair.close();
  });

  it("EMSGSIZE for a datagram larger than one packet on the link (no fragments); the link's MTU decides", async () => {
    const pair = await StackPair.create({ link: { mtu: 1280 } });
    const got = inbox();
    pair.b.openUdp({ localPort: 7 }, got.handler);
    const sock = pair.a.openUdp({}, () => {});
    expect(thrownCode(() => sock.send(new Uint8Array(1280 - 28 + 1), "10.0.0.2", 7))).toBe("EMSGSIZE");
    expect(thrownCode(() => sock.send(new Uint8Array(1280 - 48 + 1), "fd00::2", 7))).toBe("EMSGSIZE");
    sock.send(new Uint8Array(1280 - 28), "10.0.0.2", 7);
    sock.send(new Uint8Array(1280 - 48), "fd00::2", 7);
    await pair.runUntil(() => got.messages.length === 2, "two full-sized datagrams");
    expect(got.messages.map((m) => m.data.length)).toEqual([1252, 1232]);
    pair.close();
  });

  it("a burst larger than the send and receive regions arrives whole when the reader keeps up, in order", async () => {
    const pair = await StackPair.create({ config: { udpTxRegion: 65536 + 4096, udpRxRegion: 65536 + 4096 } });
    const got: number[] = [];
    pair.b.openUdp({ localPort: 7 }, (m) => got.push(new DataView(m.data.buffer, m.data.byteOffset).getUint32(0)));
    const sock = pair.a.openUdp({}, () => {});
    const n = 2000;
    // 2,000 x 1,000 bytes: the send region (69,632 bytes) is flushed many times within this one turn.
    for (let i = 0; i < n; i++) {
      const d = new Uint8Array(1000);
      new DataView(d.buffer).setUint32(0, i);
      sock.send(d, "10.0.0.2", 7);
    }
    await pair.runUntil(() => got.length === n, "every datagram");
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(pair.b.counters().udpReceiveRegionFull).toBe(0);
    pair.close();
  });

  it("a socket with no local address takes both IP versions on one port; handler errors do not stop the others", async () => {
    const pair = await StackPair.create();
    const got = inbox();
    let first = true;
    const srv = pair.b.openUdp({ localPort: 53 }, (m) => {
      if (first) {
        first = false;
        throw new Error("handler failure");
      }
      got.handler(m);
    });
    expect(srv.versions).toEqual([4, 6]);
    const cli = pair.a.openUdp({}, () => {});
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on("uncaughtException", onError);
    try {
      cli.send(enc("a"), "10.0.0.2", 53);
      cli.send(enc("b"), "fd00::2", 53);
      cli.send(enc("c"), "10.0.0.2", 53);
      await pair.runUntil(() => got.messages.length === 2, "two datagrams after the failing one");
      await pair.advance(1);
    } finally {
      process.off("uncaughtException", onError);
    }
    expect(got.texts()).toEqual(["b", "c"]);
    expect(got.messages.map((m) => m.remoteAddress)).toEqual(["fd00::1", "10.0.0.1"]);
    pair.close();
  });
});

describe("UDP loopback", () => {
  for (const to of ["127.0.0.1", "::1", "10.0.0.1", "fd00::1"]) {
    it(`a stack with no link reaches its own socket at ${to}`, async () => {
      const net = new VirtualNet();
      const stack = await net.stack({ addresses: ["10.0.0.1/24", "fd00::1/64"], name: "host" });
      echo(stack, 7);
      const got = inbox();
      const sock = stack.openUdp({}, got.handler);
      sock.send(enc("ping"), to, 7);
      await net.runUntil(() => got.messages.length === 1, "the echo");
      expect(got.messages[0]).toMatchObject({ remoteAddress: to, remotePort: 7, localAddress: to });
      expect(stack.counters().loopback).toBeGreaterThan(0);
      net.close();
    });
  }

  it("a destination no link routes is dropped and counted: send returns false", async () => {
    const net = new VirtualNet();
    const stack = await net.stack({ addresses: ["10.0.0.1/24"], name: "host" });
    const sock = stack.openUdp({}, () => {});
    expect(sock.send(enc("x"), "192.0.2.1", 7)).toBe(false);
    expect(stack.counters().noRoute).toBe(1);
    net.close();
  });
});

describe("UDP frames to a named MAC (broadcast, DHCP replies)", () => {
  it("send(..., { mac }) on a socket opened with an Ethernet link leaves as a frame to that MAC, without neighbour resolution", async () => {
    const net = new VirtualNet();
    const stack = await net.stack({ addresses: ["10.0.2.2/24"], name: "gateway" });
    const [link, peer] = net.linkPair({ framing: "ethernet" });
    const frames: Uint8Array[] = [];
    peer.onReceive((batch) => {
      for (const f of batch) frames.push(f.slice());
    });
    stack.attach(link, { mac: "02:00:00:00:00:02" });
    await net.advance(10);
    frames.length = 0;
    const heard: UdpMessage[] = [];
    const sock = stack.openUdp({ localPort: 67, localAddress: "0.0.0.0", link }, (m) => heard.push(m));
    // A DHCPDISCOVER-like broadcast from a client with no address yet reaches the socket, flagged.
    const discover = udpPacket({ src: "0.0.0.0", dst: "255.255.255.255", srcPort: 68, dstPort: 67, payload: "discover" });
    const frame = new Uint8Array(14 + discover.length);
    frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x15, 0x08, 0x00]);
    frame.set(discover, 14);
    peer.send([frame]);
    await net.runUntil(() => heard.length === 1, "the broadcast");
    expect(heard[0]).toMatchObject({ remoteAddress: "0.0.0.0", remotePort: 68, localAddress: "255.255.255.255", broadcast: true });
    expect(dec(heard[0]!.data)).toBe("discover");
    expect(sock.send(enc("offer"), "255.255.255.255", 68, { mac: "ff:ff:ff:ff:ff:ff" })).toBe(true);
    expect(sock.send(enc("ack"), "10.0.2.15", 68, { mac: "02:00:00:00:00:15" })).toBe(true);
    await net.runUntil(() => frames.length >= 2, "two frames");
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
    const udp = frames.filter((f) => f[12] === 0x08 && f[13] === 0x00 && f[14 + 9] === 17);
    expect(udp.map((f) => [hex(f.subarray(0, 6)), hex(f.subarray(6, 12)), f.subarray(14 + 16, 14 + 20).join("."),
      (f[14 + 22]! << 8) | f[14 + 23]!, dec(f.subarray(14 + 28, 14 + 28 + ((f[14 + 24]! << 8) | f[14 + 25]!) - 8))])).toEqual([
      ["ff:ff:ff:ff:ff:ff", "02:00:00:00:00:02", "255.255.255.255", 68, "offer"],
      ["02:00:00:00:00:15", "02:00:00:00:00:02", "10.0.2.15", 68, "ack"],
    ]);
    // No ARP request for 10.0.2.15: the frame went to the MAC it was given.
    expect(frames.filter((f) => f[12] === 0x08 && f[13] === 0x06)).toEqual([]);
    // A raw-IP link or one not attached cannot carry frames.
    const [ipLink] = net.linkPair();
    stack.attach(ipLink);
    expect(thrownCode(() => stack.openUdp({ link: ipLink }, () => {}))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => stack.openUdp({ link: net.linkPair({ framing: "ethernet" })[0] }, () => {}))).toBe("ERR_INVALID_ARG_VALUE");
    // Without a link the socket cannot name a MAC.
    const plain = stack.openUdp({}, () => {});
    expect(thrownCode(() => plain.send(enc("x"), "255.255.255.255", 68, { mac: "ff:ff:ff:ff:ff:ff" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => sock.send(enc("x"), "255.255.255.255", 68, { mac: "ff:ff" }))).toBe("ERR_INVALID_ARG_VALUE");
    net.close();
  });
});

describe("UDP on an Ethernet link: what may not be answered (RFC 1122 3.2.2)", () => {
  it("a directed broadcast reaches wildcard sockets flagged; a closed port hit by a directed broadcast or a link-layer broadcast frame gets no ICMP error, a unicast one does", async () => {
    const net = new VirtualNet();
    const stack = await net.stack({ addresses: ["10.0.2.2/24"], name: "gateway" });
    const [link, peer] = net.linkPair({ framing: "ethernet" });
    const frames: Uint8Array[] = [];
    peer.onReceive((batch) => {
      for (const f of batch) frames.push(f.slice());
    });
    stack.attach(link, { mac: "02:00:00:00:00:02" });
    await net.advance(10);
    const heard: UdpMessage[] = [];
    stack.openUdp({ localPort: 7, localAddress: "0.0.0.0" }, (m) => heard.push(m));
    const frame = (dstMac: number[], packet: Uint8Array) => {
      const f = new Uint8Array(14 + packet.length);
      f.set([...dstMac, 0x02, 0, 0, 0, 0, 0x15, 0x08, 0x00]);
      f.set(packet, 14);
      return f;
    };
    const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const US = [0x02, 0, 0, 0, 0, 0x02];
    peer.send([frame(US, udpPacket({ src: "10.0.2.15", dst: "10.0.2.2", srcPort: 1, dstPort: 7, payload: "hello" }))]);
    await net.runUntil(() => heard.length === 1, "the unicast");
    frames.length = 0;
    peer.send([
      frame(BCAST, udpPacket({ src: "10.0.2.15", dst: "10.0.2.255", srcPort: 1, dstPort: 7, payload: "directed" })),
      frame(BCAST, udpPacket({ src: "10.0.2.15", dst: "10.0.2.255", srcPort: 1, dstPort: 9, payload: "closed, directed" })),
      frame(BCAST, udpPacket({ src: "10.0.2.15", dst: "10.0.2.2", srcPort: 1, dstPort: 9, payload: "closed, link broadcast" })),
    ]);
    await net.runUntil(() => heard.length === 2, "the directed broadcast");
    await net.advance(100);
    expect(heard[1]).toMatchObject({ localAddress: "10.0.2.255", broadcast: true });
    expect(frames.filter((f) => f[14 + 9] === 1)).toEqual([]);
    expect(stack.counters()).toMatchObject({ udpNoPort: 2, udpUnreachableSuppressed: 2, udpUnreachableSent: 0 });
    // The same closed port, unicast in a unicast frame: answered.
    peer.send([frame(US, udpPacket({ src: "10.0.2.15", dst: "10.0.2.2", srcPort: 1, dstPort: 9, payload: "closed" }))]);
    await net.advance(100);
    // (It waits for ARP: the peer here answers none.)
    expect(stack.counters()).toMatchObject({ udpNoPort: 3, udpUnreachableSuppressed: 2, udpUnreachableSent: 1 });
    net.close();
  });
});

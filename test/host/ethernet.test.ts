// Ethernet links (Link.framing "ethernet"): two stacks over an Ethernet memory link on the virtual
// clock. The core answers ARP (RFC 826) and IPv6 neighbour discovery (RFC 4861), frames its packets,
// and TCP runs over it as over a raw-IP link; the attach options are checked.
import { describe, expect, it } from "vitest";
import { TcpwasmError } from "../../src/core/errors.js";
import { createMemoryLinkPair } from "../../src/net/memory-link.js";
import { createStack } from "../../src/tcp/stack.js";
import { PcapWriter, recordLink, LINKTYPE_ETHERNET } from "../../src/tools/pcap.js";
import { accepted, collect, connected, data, sha, writeAll } from "../fixtures/stack-util.js";
import { StackPair, type StackPairOptions } from "../fixtures/stack-pair.js";
import { bindNet, NetError } from "../../src/faces/node-net.js";
import { bindWeb } from "../../src/faces/web.js";

const FAST = { rtoInitialMs: 200, rtoMinMs: 100, mslMs: 50 };
const MAC_A = "02:00:00:00:00:0a";
const MAC_B = "02:00:00:00:00:0b";

function pair(options: StackPairOptions = {}): Promise<StackPair> {
  return StackPair.create({
    ...options,
    config: { ...FAST, ...options.config },
    link: { framing: "ethernet", ...options.link },
    attach: options.attach ?? { a: { mac: MAC_A }, b: { mac: MAC_B } },
  });
}

/** Every frame each end sent, as copies, through a wrapper on the memory link. */
function tap(p: StackPair): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (const link of [p.la, p.lb]) {
    const send = link.send.bind(link);
    link.send = (batch: Uint8Array[]) => {
      for (const f of batch) frames.push(f.slice());
      send(batch);
    };
  }
  return frames;
}

const etherType = (f: Uint8Array) => (f[12]! << 8) | f[13]!;
const macOf = (f: Uint8Array) => Array.from(f.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(":");
const icmp6Type = (f: Uint8Array) => (etherType(f) === 0x86dd && f[14 + 6] === 58 ? f[14 + 40]! : -1);

describe("Ethernet link", () => {
  for (const [family, remote] of [["IPv4", "10.0.0.2"], ["IPv6", "fd00::2"]] as const) {
    it(`${family}: TCP data both ways after address resolution, every frame addressed to the peer's MAC`, async () => {
      const p = await pair();
      const frames = tap(p);
      const request = data(300_000, 1);
      const response = data(200_000, 2);
      const server = accepted(p.b, 8080);
      const conn = p.a.openConnection({ remote, remotePort: 8080 });
      await p.wait(connected(conn), "connect");
      const s = await p.wait(server, "accept");
      const atServer = collect(s);
      const atClient = collect(conn);
      await p.wait(writeAll(conn, request, true), "request");
      await p.wait(atServer.ended, "request end");
      await p.wait(writeAll(s, response, true), "response");
      await p.wait(atClient.ended, "response end");
      expect(sha(atServer.chunks)).toBe(sha([request]));
      expect(sha(atClient.chunks)).toBe(sha([response]));

      if (family === "IPv4") {
        // RFC 826: a broadcast request from the client for 10.0.0.2, answered by the server's reply.
        const arp = frames.filter((f) => etherType(f) === 0x0806);
        expect(arp.some((f) => f[21] === 1 && f.subarray(0, 6).every((b) => b === 0xff) && f.subarray(38, 42).join(".") === "10.0.0.2")).toBe(true);
        expect(arp.some((f) => f[21] === 2 && f.subarray(28, 32).join(".") === "10.0.0.2")).toBe(true);
        expect(p.a.counters().arpRequestsSent).toBeGreaterThan(0);
        expect(p.b.counters().arpRepliesSent).toBeGreaterThan(0);
      } else {
        // RFC 4861 7.2.2 / 7.2.4: a neighbour solicitation and a solicited advertisement.
        expect(frames.some((f) => icmp6Type(f) === 135)).toBe(true);
        expect(frames.some((f) => icmp6Type(f) === 136 && (f[14 + 40 + 4]! & 0x40) !== 0)).toBe(true);
      }
      // Every IP frame goes to the other end's MAC (or a multicast group for neighbour discovery).
      const mac = (text: string) => text.split(":").map((h) => parseInt(h, 16)).join(",");
      for (const f of frames.filter((f) => etherType(f) === (family === "IPv4" ? 0x0800 : 0x86dd) && (f[0]! & 1) === 0)) {
        const dst = Array.from(f.subarray(0, 6)).join(",");
        expect([mac(MAC_A), mac(MAC_B)]).toContain(dst);
      }
      expect(p.a.counters().framesDropped + p.b.counters().framesDropped).toBe(0);
      expect(p.a.counters().neighbourFailed + p.b.counters().neighbourFailed).toBe(0);
    });
  }

  it("announces its IPv4 address on attach (RFC 5227 2.3) and probes fe80:: derived from the MAC (RFC 4862 5.4.2, RFC 4291 appendix A)", async () => {
    const p = await pair();
    const stack = await p.stack({ addresses: ["10.0.0.9/24", "fd00::9/64"], config: FAST });
    const [link] = p.linkPair({ framing: "ethernet" });
    const sent: Uint8Array[] = [];
    const send = link.send.bind(link);
    link.send = (batch) => {
      for (const f of batch) sent.push(f.slice());
      send(batch);
    };
    stack.attach(link, { mac: "02:00:00:00:00:09" });
    await p.runUntil(() => sent.filter((f) => icmp6Type(f) === 135).length >= 2, "DAD probes");
    const announce = sent.find((f) => etherType(f) === 0x0806)!;
    expect(announce.subarray(0, 6).every((b) => b === 0xff)).toBe(true);
    expect(announce[21]).toBe(1);
    expect(announce.subarray(28, 32).join(".")).toBe("10.0.0.9");
    expect(announce.subarray(38, 42).join(".")).toBe("10.0.0.9");
    expect(announce.length).toBe(60);
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    const probes = sent.filter((f) => icmp6Type(f) === 135);
    // From the unspecified address, one per address: fd00::9 and fe80::ff:fe00:9 (02 with the U/L bit inverted is 00).
    expect(probes.map((f) => hex(f.subarray(14 + 40 + 8, 14 + 40 + 24))).sort()).toEqual([
      "fd000000000000000000000000000009", "fe80000000000000000000fffe000009",
    ]);
    expect(probes.every((f) => f.subarray(14 + 8, 14 + 24).every((b) => b === 0))).toBe(true);
    // To the solicited-node group's MAC, 33:33:ff:00:00:09.
    expect(probes.every((f) => hex(f.subarray(0, 6)) === "3333ff000009")).toBe(true);
    stack.close();
  });

  it("a next hop that never answers ARP or NS ends the connect with EHOSTUNREACH, on the stack and both faces", async () => {
    const p = await pair();
    // The server end reads nothing: its stack is detached from the link (it never answers).
    p.lb.onReceive(() => {});
    const closes: (string | undefined)[] = [];
    for (const remote of ["10.0.0.2", "fd00::2"]) {
      const conn = p.a.openConnection({ remote, remotePort: 80 });
      const closed = new Promise<string | undefined>((resolve) => {
        conn.onClose = (e) => resolve(e?.code);
      });
      closes.push(await p.wait(closed, `close of ${remote}`));
    }
    expect(closes).toEqual(["EHOSTUNREACH", "EHOSTUNREACH"]);
    const web = bindWeb(p.a).connect({ hostname: "10.0.0.2", port: 81 });
    const webError = await p.wait(web.opened.then(() => undefined, (e: { code?: string }) => e.code), "web opened");
    expect(webError).toBe("EHOSTUNREACH");
    const sock = bindNet(p.a).connect({ host: "10.0.0.2", port: 82 });
    const nodeError = await p.wait(new Promise<NetError>((resolve) => sock.on("error", resolve)), "node error");
    expect(nodeError.code).toBe("EHOSTUNREACH");
    expect(nodeError.syscall).toBe("connect");
    expect(p.a.counters().neighbourFailed).toBeGreaterThanOrEqual(3);
  });

  it("a next hop that stops answering in ESTABLISHED is a soft error: the later timeout reports EHOSTUNREACH (RFC 1122 4.2.3.9)", async () => {
    const p = await pair({ config: { dataRetries: 12, rtoMaxMs: 10_000 } });
    const server = accepted(p.b, 8080);
    const conn = p.a.openConnection({ remote: "10.0.0.2", remotePort: 8080 });
    await p.wait(connected(conn), "connect");
    await p.wait(server, "accept");
    const closed = new Promise<string | undefined>((resolve) => {
      conn.onClose = (e) => resolve(e?.code);
    });
    // The server's end goes silent: data is retransmitted until the retries run out, and meanwhile
    // the cache entry goes STALE, then DELAY and PROBE, and resolution fails.
    p.lb.onReceive(() => {});
    conn.write(data(10_000, 3));
    expect(await p.wait(closed, "close")).toBe("EHOSTUNREACH");
    expect(p.a.counters().neighbourFailed).toBeGreaterThan(0);
    expect(p.a.counters().timeouts).toBeGreaterThan(0);
  });

  it("without a resolution failure the same timeout stays ETIMEDOUT", async () => {
    const p = await pair({ config: { dataRetries: 3, rtoMaxMs: 1000 } });
    const server = accepted(p.b, 8080);
    const conn = p.a.openConnection({ remote: "10.0.0.2", remotePort: 8080 });
    await p.wait(connected(conn), "connect");
    await p.wait(server, "accept");
    const closed = new Promise<string | undefined>((resolve) => {
      conn.onClose = (e) => resolve(e?.code);
    });
    p.lb.onReceive(() => {});
    conn.write(data(10_000, 3));
    expect(await p.wait(closed, "close")).toBe("ETIMEDOUT");
    expect(p.a.counters().neighbourFailed).toBe(0);
  });

  it("loopback still works beside an Ethernet link: 127.0.0.1, ::1 and the stack's own addresses never reach the link", async () => {
    const p = await pair();
    const frames = tap(p);
    const echoes: string[] = [];
    for (const remote of ["127.0.0.1", "::1", "10.0.0.1", "fd00::1"]) {
      const server = accepted(p.a, 9000 + echoes.length);
      const conn = p.a.openConnection({ remote, remotePort: 9000 + echoes.length });
      await p.wait(connected(conn), `connect ${remote}`);
      const s = await p.wait(server, "accept");
      const got = collect(s);
      await p.wait(writeAll(conn, data(5000, 4), true), "write");
      await p.wait(got.ended, "end");
      echoes.push(sha(got.chunks));
    }
    expect(new Set(echoes).size).toBe(1);
    expect(echoes[0]).toBe(sha([data(5000, 4)]));
    // Nothing but the attach-time announcements and probes went out on the link.
    expect(frames.filter((f) => etherType(f) === 0x0800 || (etherType(f) === 0x86dd && f[14 + 6] === 6))).toHaveLength(0);
    // And no ARP but the announcement (sender = target, RFC 5227 2.3).
    const arp = frames.filter((f) => etherType(f) === 0x0806);
    expect(arp.filter((f) => f.subarray(28, 32).join(".") !== f.subarray(38, 42).join("."))).toHaveLength(0);
  });

  it("two stacks claiming one IPv6 address each find the duplicate (RFC 4862 5.4.3) and tell onAddressConflict", async () => {
    const p = await pair({ addresses: { a: ["10.0.0.1/24", "fd00::7/64"], b: ["10.0.0.2/24", "fd00::7/64"] } });
    const told: string[] = [];
    p.a.onAddressConflict = (address, link) => {
      expect(link).toBe(p.la);
      told.push(address);
    };
    await p.runUntil(() => p.a.addressConflicts.length > 0 && p.b.addressConflicts.length > 0, "both conflicts");
    expect(p.a.addressConflicts).toEqual(["fd00::7"]);
    expect(p.b.addressConflicts).toEqual(["fd00::7"]);
    expect(told).toEqual(["fd00::7"]);
    expect(p.a.counters().dadDuplicates).toBe(1);
  });

  it("carries UDP over IPv4 and IPv6: datagrams wait for ARP / NS like TCP's segments", async () => {
    const p = await pair();
    const frames = tap(p);
    const got: string[] = [];
    const server = p.b.openUdp({ localPort: 5353 }, (m) => got.push(`${m.remoteAddress} ${new TextDecoder().decode(m.data)}`));
    const client = p.a.openUdp({ localPort: 4000 }, () => {});
    expect(client.send(new TextEncoder().encode("v4"), "10.0.0.2", 5353)).toBe(true);
    expect(client.send(new TextEncoder().encode("v6"), "fd00::2", 5353)).toBe(true);
    await p.runUntil(() => got.length === 2, "two datagrams");
    expect(got.sort()).toEqual(["10.0.0.1 v4", "fd00::1 v6"]);
    expect(p.a.counters().neighbourPending).toBe(2);
    expect(frames.filter((f) => (etherType(f) === 0x0800 ? f[14 + 9] : f[14 + 6]) === 17).every((f) => macOf(f) === MAC_B)).toBe(true);
    server.close();
    client.close();
  });

  it("a connection making progress keeps its next hop REACHABLE: no probes in two minutes of echo traffic (RFC 4861 7.3.1)", async () => {
    const p = await pair();
    const frames = tap(p);
    const server = accepted(p.b, 7);
    const conn = p.a.openConnection({ remote: "10.0.0.2", remotePort: 7 });
    await p.wait(connected(conn), "connect");
    const s = await p.wait(server, "accept");
    s.onData = (d) => s.write(d);
    let echoed = 0;
    conn.onData = (d) => (echoed += d.length);
    for (let second = 1; second <= 120; second++) {
      conn.write(data(100, second));
      await p.advanceTo(second * 1000);
    }
    await p.runUntil(() => echoed === 12_000, "echoes");
    // Unicast ARP requests are the PROBE state's (RFC 4861 7.3.3); progress never let an entry get there.
    const probes = frames.filter((f) => etherType(f) === 0x0806 && f[21] === 1 && (f[0]! & 1) === 0);
    expect(probes).toHaveLength(0);
  });

  it("an Ethernet link costs an idle stack no WebAssembly memory beyond a raw-IP link's (cache and pending pool fit)", async () => {
    const sizes: number[] = [];
    for (const framing of ["ip", "ethernet"] as const) {
      const stack = await createStack({ addresses: ["10.0.0.1/24", "fd00::1/64"] });
      stack.attach(createMemoryLinkPair({ framing })[0]);
      sizes.push(stack.engine.memory.u8.buffer.byteLength);
      if (framing === "ethernet") expect(stack.engine.neighbours()).toEqual({ entries: 0, capacity: 1024, bytesPerEntry: 52 });
      stack.close();
    }
    expect(sizes[1]).toBe(sizes[0]);
  });

  it("rejects Ethernet options on a raw-IP link and bad ones on an Ethernet link, with typed errors", async () => {
    const stack = await createStack({ addresses: ["10.0.0.1/24", "fd00::1/64"], flavor: "debug" });
    const code = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return e instanceof TcpwasmError ? e.code : String(e);
      }
      return "no error";
    };
    const [raw] = createMemoryLinkPair();
    expect(code(() => stack.attach(raw, { mac: MAC_A }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => stack.attach(raw, { router: true }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => stack.attach(raw, { gateway: "10.0.0.254" }))).toBe("ERR_INVALID_ARG_VALUE");
    const eth = () => createMemoryLinkPair({ framing: "ethernet" })[0];
    expect(code(() => stack.attach(eth(), { mac: "01:00:5e:00:00:01" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => stack.attach(eth(), { mac: "00:00:00:00:00:00" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => stack.attach(eth(), { mac: "02-00-00-00-00-01" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => stack.attach(eth(), { mac: 42 as unknown as string }))).toBe("ERR_INVALID_ARG_TYPE");
    expect(code(() => stack.attach(eth(), { router: "yes" as unknown as boolean }))).toBe("ERR_INVALID_ARG_TYPE");
    expect(code(() => stack.attach(eth(), { gateway: "192.168.1.1" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => stack.attach(eth(), { gateway: ["10.0.0.254", "10.0.0.253"] }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => stack.attach(eth(), { gateway: "10.0.0.1" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => stack.attach(eth(), { gateway: "not an address" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => stack.attach({ ...eth(), send() {}, onReceive() {}, close() {}, framing: "tap" as "ethernet" }))).toBe("ERR_INVALID_ARG_VALUE");
    // A good one still attaches after all that.
    const ok = eth();
    stack.attach(ok, { mac: MAC_A, gateway: ["10.0.0.254", "fe80::1"], router: true });
    expect(stack.macAddress(ok)).toBe(MAC_A);
    stack.close();
  });

  it("records an Ethernet link as LINKTYPE_ETHERNET", async () => {
    const chunks: Uint8Array[] = [];
    const writer = new PcapWriter((c) => chunks.push(c), { framing: "ethernet" });
    const [l] = createMemoryLinkPair({ framing: "ethernet" });
    const rec = recordLink(l, writer);
    expect(rec.framing).toBe("ethernet");
    expect(new DataView(chunks[0]!.buffer).getUint32(20, true)).toBe(LINKTYPE_ETHERNET);
    const [raw] = createMemoryLinkPair();
    expect(() => recordLink(raw, writer)).toThrow(TcpwasmError);
  });
});

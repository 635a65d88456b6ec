// Packet scripts for ICMP / ICMPv6 destination unreachable errors about TCP segments
// (assembly/engine/unreachable.ts): RFC 1122 4.2.3.9 and RFC 5927 as Linux behaves. A connection in
// SYN-SENT ends at once (ECONNREFUSED for port unreachable, EHOSTUNREACH for net / host / prohibited);
// a synchronized one only records a soft error that a later timeout reports; a quoted sequence
// number not in flight is ignored and counted (RFC 5927 4.1).
import { describe, expect, it } from "vitest";
import { parseIpv4, parseIpv6 } from "../../src/core/wire.js";
import { ACK, LOCAL, PSH, REMOTE, REMOTE_PORT, Script, established } from "../fixtures/engine-script.js";
import { unreachableError } from "../fixtures/icmp-unreachable.js";
import { takeOutput } from "../fixtures/engine-io.js";

const V4 = { local: LOCAL, remote: REMOTE, from: parseIpv4(REMOTE)!, router: parseIpv4("10.0.0.254")!, port: 3, host: 1, net: 0, admin: 13 };
const V6 = { local: "fd00::1", remote: "fd00::2", from: parseIpv6("fd00::2")!, router: parseIpv6("fd00::fe")!, port: 4, host: 3, net: 0, admin: 1 };
type Family = typeof V4;

/** A connection of `f` in SYN-SENT; returns the script and its SYN as the engine sent it. */
async function opening(f: Family): Promise<{ s: Script; syn: Uint8Array }> {
  const s = await Script.create();
  s.localPort = 40000;
  s.id = s.engine.connect({ local: f.local, remote: f.remote, remotePort: REMOTE_PORT, localPort: 40000 }, s.now);
  const out = takeOutput(s.engine, s.now);
  expect(out).toHaveLength(1);
  s.events();
  return { s, syn: out[0]! };
}

function counters(s: Script) {
  const c = s.engine.counters();
  return { icmpUnreachable: c.icmpUnreachable, icmpUnreachableIgnored: c.icmpUnreachableIgnored };
}

/** A copy of `packet` (IPv4 or IPv6, TCP without IP options) with its TCP sequence number set to `seq`. */
function withSeq(packet: Uint8Array, seq: number): Uint8Array {
  const p = packet.slice();
  new DataView(p.buffer).setUint32((p[0]! >> 4 === 6 ? 40 : 20) + 4, seq >>> 0);
  return p;
}

describe.each([["IPv4", V4], ["IPv6", V6]] as const)("ICMP destination unreachable in SYN-SENT (%s)", (_name, f) => {
  it("port unreachable quoting our SYN ends the connection at once with ECONNREFUSED", async () => {
    const { s, syn } = await opening(f);
    s.sendRaw(unreachableError({ packet: syn, code: f.port, from: f.from }));
    expect(s.state()).toBe("CLOSED");
    expect(s.events()).toEqual([{ type: "reset", id: s.id, error: "ECONNREFUSED" }, { type: "closed", id: s.id }]);
    expect(counters(s)).toEqual({ icmpUnreachable: 1, icmpUnreachableIgnored: 0 });
    expect(takeOutput(s.engine, s.now)).toEqual([]);
  });

  it("host, net unreachable and administratively prohibited from a router end it with EHOSTUNREACH", async () => {
    for (const code of [f.host, f.net, f.admin]) {
      const { s, syn } = await opening(f);
      s.sendRaw(unreachableError({ packet: syn, code, from: f.router }));
      expect(s.state()).toBe("CLOSED");
      expect(s.events()).toEqual([{ type: "error", id: s.id, error: "EHOSTUNREACH" }, { type: "closed", id: s.id }]);
    }
  });

  it("a quoted sequence number not in flight, a bad checksum or another connection's 4-tuple is ignored and counted", async () => {
    const { s, syn } = await opening(f);
    const iss = s.engine.status(s.id).iss;
    s.sendRaw(unreachableError({ packet: withSeq(syn, iss + 1), code: f.port, from: f.from }));
    s.sendRaw(unreachableError({ packet: withSeq(syn, iss - 1), code: f.port, from: f.from }));
    s.sendRaw(unreachableError({ packet: syn, code: f.port, from: f.from, badChecksum: true }));
    const other = syn.slice();
    new DataView(other.buffer).setUint16(f === V6 ? 40 : 20, 40001);
    s.sendRaw(unreachableError({ packet: other, code: f.port, from: f.from }));
    expect(counters(s)).toEqual({ icmpUnreachable: 0, icmpUnreachableIgnored: 4 });
    expect(s.state()).toBe("SYN-SENT");
    expect(s.events()).toEqual([]);
    // The SYN is retried as usual.
    s.advanceToDeadline();
    expect(takeOutput(s.engine, s.now)).toHaveLength(1);
  });
});

describe("ICMP destination unreachable in ESTABLISHED: a soft error (RFC 1122 4.2.3.9, RFC 5927 4.2)", () => {
  /** ESTABLISHED with "lost" in flight; returns the data segment as sent. */
  async function inFlight(): Promise<{ s: Script; data: Uint8Array }> {
    const s = await established({}, { userTimeoutMs: 1500 });
    s.engine.send(s.id, new TextEncoder().encode("lost"), s.now);
    const out = takeOutput(s.engine, s.now);
    expect(out).toHaveLength(1);
    return { s, data: out[0]! };
  }

  async function timeOut(s: Script): Promise<void> {
    while (s.state() !== "CLOSED") {
      s.advanceToDeadline();
      takeOutput(s.engine, s.now);
    }
  }

  it("host unreachable does not abort; the later timeout reports EHOSTUNREACH instead of ETIMEDOUT", async () => {
    const { s, data } = await inFlight();
    s.sendRaw(unreachableError({ packet: data, code: V4.host, from: V4.router }));
    expect(s.state()).toBe("ESTABLISHED");
    expect(s.events()).toEqual([]);
    expect(counters(s)).toEqual({ icmpUnreachable: 1, icmpUnreachableIgnored: 0 });
    // The connection goes on: the retransmission goes out and an ACK of it would be taken.
    s.advanceToDeadline();
    expect(s.next()).toMatchObject({ flags: ACK | PSH, seq: s.l(1) });
    await timeOut(s);
    expect(s.events()).toEqual([{ type: "timedOut", id: s.id, error: "EHOSTUNREACH" }, { type: "closed", id: s.id }]);
  });

  it("port unreachable does not abort either; the timeout reports ECONNREFUSED", async () => {
    const { s, data } = await inFlight();
    s.sendRaw(unreachableError({ packet: data, code: V4.port, from: V4.from }));
    expect(s.state()).toBe("ESTABLISHED");
    await timeOut(s);
    expect(s.events()).toEqual([{ type: "timedOut", id: s.id, error: "ECONNREFUSED" }, { type: "closed", id: s.id }]);
  });

  it("one quoting acknowledged data is ignored: the timeout stays ETIMEDOUT", async () => {
    const { s, data } = await inFlight();
    s.sendRaw(unreachableError({ packet: withSeq(data, s.l(0)), code: V4.host, from: V4.router }));
    expect(counters(s)).toEqual({ icmpUnreachable: 0, icmpUnreachableIgnored: 1 });
    await timeOut(s);
    expect(s.events()).toEqual([{ type: "timedOut", id: s.id, error: "ETIMEDOUT" }, { type: "closed", id: s.id }]);
  });
});

describe("ICMP errors this path leaves alone", () => {
  it("a port unreachable quoting a UDP datagram is not TCP's (udp.ts counts it)", async () => {
    const { s, syn } = await opening(V4);
    const udp = syn.slice();
    udp[9] = 17;
    s.sendRaw(unreachableError({ packet: udp, code: V4.port, from: V4.from }));
    expect(counters(s)).toEqual({ icmpUnreachable: 0, icmpUnreachableIgnored: 0 });
    expect(s.engine.udpCounters().udpIcmpUnreachableIgnored).toBe(1);
    expect(s.state()).toBe("SYN-SENT");
  });
});

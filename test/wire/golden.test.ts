// Golden packets from the real Linux kernel (test/fixtures/golden/linux-packets.json, captured by
// test/fixtures/golden/capture.py): each one must parse without error to the fields tshark decoded from the
// same bytes, carry checksums that verify, and re-encode byte for byte, through the public wire API
// and on every build of the core.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadWire, type PacketFields, type ParsedPacket, type Wire } from "../../src/index.js";

interface GoldenPacket {
  name: string;
  family: 4 | 6;
  description: string;
  hex: string;
  /** tshark's -T fields output for this packet: values exactly as tshark printed them. */
  tshark: Record<string, string>;
}

const golden = JSON.parse(readFileSync(new URL("../fixtures/golden/linux-packets.json", import.meta.url), "utf8")) as {
  kernel: string;
  captured: string;
  packets: GoldenPacket[];
};

function bytesOf(packet: GoldenPacket): Uint8Array {
  return Uint8Array.from(Buffer.from(packet.hex, "hex"));
}

/** tshark prints integers in decimal or, for some fields (flags, ids, TOS), as 0x-prefixed hex. */
function num(t: Record<string, string>, field: string): number {
  const text = t[field];
  if (text === undefined) throw new Error(`tshark did not report ${field}`);
  return Number(text);
}

function list(t: Record<string, string>, field: string): number[] {
  return t[field] ? t[field].split(",").map(Number) : [];
}

/**
 * The fields of a packet as tshark decoded them, in the shape of the public API: both what
 * parsePacket must return and what encodePacket must turn back into the same bytes.
 */
function expectedFields(packet: GoldenPacket, bytes: Uint8Array): PacketFields & Omit<Partial<ParsedPacket>, "flags"> {
  const t = packet.tshark;
  const v4 = packet.family === 4;
  const kinds = list(t, "tcp.option_kind");
  const le = list(t, "tcp.options.sack_le");
  const re = list(t, "tcp.options.sack_re");
  const ipHeaderLength = v4 ? num(t, "ip.hdr_len") : 40;
  const tcpHeaderLength = num(t, "tcp.hdr_len");
  const payloadLength = num(t, "tcp.len");
  return {
    ipVersion: v4 ? 4 : 6,
    src: v4 ? t["ip.src"] : t["ipv6.src"],
    dst: v4 ? t["ip.dst"] : t["ipv6.dst"],
    srcPort: num(t, "tcp.srcport"),
    dstPort: num(t, "tcp.dstport"),
    seq: num(t, "tcp.seq_raw"),
    ack: num(t, "tcp.ack_raw"),
    flags: num(t, "tcp.flags"),
    window: num(t, "tcp.window_size_value"),
    urgent: num(t, "tcp.urgent_pointer"),
    options: {
      mss: t["tcp.options.mss_val"] ? num(t, "tcp.options.mss_val") : null,
      wscale: t["tcp.options.wscale.shift"] ? num(t, "tcp.options.wscale.shift") : null,
      sackPermitted: kinds.includes(4),
      timestamps: t["tcp.options.timestamp.tsval"]
        ? { value: num(t, "tcp.options.timestamp.tsval"), echo: num(t, "tcp.options.timestamp.tsecr") }
        : null,
      sack: le.map((left, i) => [left, re[i]] as [number, number]),
    },
    ttl: v4 ? num(t, "ip.ttl") : num(t, "ipv6.hlim"),
    ipId: v4 ? num(t, "ip.id") : 0,
    dontFragment: v4 ? t["ip.flags.df"] === "1" : false,
    tos: v4 ? num(t, "ip.dsfield") : num(t, "ipv6.tclass"),
    flowLabel: v4 ? 0 : num(t, "ipv6.flow"),
    ipHeaderLength,
    tcpHeaderLength,
    payloadOffset: ipHeaderLength + tcpHeaderLength,
    payloadLength,
    payload: bytes.subarray(ipHeaderLength + tcpHeaderLength, ipHeaderLength + tcpHeaderLength + payloadLength),
  };
}

/** The ones'-complement sum (not complemented) of the TCP pseudo-header, via the API's own checksum. */
function pseudoHeaderSum(wire: Wire, bytes: Uint8Array, family: 4 | 6): number {
  const v4 = family === 4;
  const tcpLength = v4 ? bytes.length - (bytes[0] & 0x0f) * 4 : bytes.length - 40;
  const pseudo = new Uint8Array(v4 ? 12 : 40);
  const view = new DataView(pseudo.buffer);
  if (v4) {
    pseudo.set(bytes.subarray(12, 20), 0);
    pseudo[9] = 6;
    view.setUint16(10, tcpLength);
  } else {
    pseudo.set(bytes.subarray(8, 40), 0);
    view.setUint32(32, tcpLength);
    pseudo[39] = 6;
  }
  return ~wire.checksum(pseudo) & 0xffff;
}

const wires = await Promise.all(
  (["simd", "scalar", "debug"] as const).map(async (flavor) => [flavor, await loadWire({ flavor })] as const),
);

describe(`golden packets from ${golden.kernel} (captured ${golden.captured})`, () => {
  it("cover the kernel's SYN, SYN+ACK, data, FIN and RST over IPv4 and IPv6", () => {
    const names = golden.packets.map((p) => p.name);
    for (const family of ["v4", "v6"]) {
      for (const kind of ["syn", "synack", "data", "fin", "rst-closed", "rst-abort"]) {
        expect(names).toContain(`${family}-${kind}`);
      }
    }
    // The SYN carries all four options the kernel negotiates.
    const syn = golden.packets.find((p) => p.name === "v4-syn")!;
    expect(syn.tshark["tcp.option_kind"]).toBe("2,4,8,1,3");
  });

  for (const [flavor, wire] of wires) {
    describe(`${flavor} build`, () => {

      for (const packet of golden.packets) {
        describe(`${packet.name}: ${packet.description}`, () => {
          const bytes = bytesOf(packet);
          const expected = expectedFields(packet, bytes);

          it("parses to the fields tshark decoded", () => {
            const parsed = wire.parsePacket(bytes);
            expect(parsed).not.toHaveProperty("error");
            const p = parsed as ParsedPacket;
            const { flags, ...rest } = expected;
            expect(p).toMatchObject(rest);
            expect(p.flagBits).toBe(flags);
            expect(p.flags.syn).toBe(((flags as number) & 0x02) !== 0);
            expect(p.flags.ack).toBe(((flags as number) & 0x10) !== 0);
          });

          it("has IP and TCP checksums that verify (and equal tshark's)", () => {
            expect(packet.tshark["tcp.checksum.status"]).toBe("1");
            const v4 = packet.family === 4;
            const ihl = v4 ? (bytes[0] & 0x0f) * 4 : 40;
            if (v4) {
              expect(wire.checksum(bytes.subarray(0, ihl))).toBe(0);
              expect((bytes[10] << 8) | bytes[11]).toBe(num(packet.tshark, "ip.checksum"));
            }
            const segment = bytes.subarray(ihl);
            expect(wire.checksum(segment, pseudoHeaderSum(wire, bytes, packet.family))).toBe(0);
            expect((segment[16] << 8) | segment[17]).toBe(num(packet.tshark, "tcp.checksum"));
            // And the check can fail: one flipped payload-or-header bit is refused.
            const corrupt = bytes.slice();
            corrupt[corrupt.length - 1] ^= 0x01;
            expect(wire.parsePacket(corrupt)).toEqual({ error: "TCP_CHECKSUM" });
          });

          it("re-encodes byte for byte from its parsed fields", () => {
            const parsed = wire.parsePacket(bytes) as ParsedPacket;
            expect(Buffer.from(wire.encodePacket(parsed)).toString("hex")).toBe(packet.hex);
          });

          it("encodes byte for byte from tshark's fields", () => {
            expect(Buffer.from(wire.encodePacket(expected)).toString("hex")).toBe(packet.hex);
          });
        });
      }
    });
  }
});

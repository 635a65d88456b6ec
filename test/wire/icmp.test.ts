// ICMP and ICMPv6 echo (RFC 792, RFC 4443 4.1-4.2) through the core's exports: parsePacket refuses
// them as NOT_TCP with their IP fields set, and icmpEchoReply answers a well-formed request and
// nothing else. Replies are checked with the plain-TypeScript checksum reference.
import { beforeAll, describe, expect, it } from "vitest";
import { loadEngine, type LoadedEngine } from "../../src/core/loader.js";
import { buildPacket, hex, R, toHex, V4_DST, V4_SRC, V6_DST, V6_SRC } from "../fixtures/wire-reference.js";
import { checksumRef, onesSumRef, pseudoHeaderSumV6Ref } from "../fixtures/checksum-reference.js";

type Core = LoadedEngine["exports"] & Record<string, (...args: number[]) => number>;

let engine: LoadedEngine;
let core: Core;
let layout: Record<string, number>;
const OUT = 8192;

beforeAll(async () => {
  engine = await loadEngine({ flavor: "debug" });
  core = engine.exports as Core;
  const names = ["ipVersion", "ipProto", "ttl", "tos", "ipId", "dontFragment", "flowLabel", "srcA", "srcB", "dstA", "dstB"];
  const table = core.wireSegmentLayout();
  layout = Object.fromEntries(names.map((n, i) => [n, engine.views.dv.getUint16(table + 2 * i, true)]));
  layout.payloadOffset = engine.views.dv.getUint16(table + 2 * 29, true);
  layout.payloadLen = engine.views.dv.getUint16(table + 2 * 30, true);
});

function echo(type: number, v6: boolean, data: Uint8Array, opts: { code?: number; badChecksum?: boolean; src?: Uint8Array } = {}): Uint8Array {
  const msg = new Uint8Array(8 + data.length);
  msg[0] = type;
  msg[1] = opts.code ?? 0;
  msg.set(hex("beef 0007"), 4);
  msg.set(data, 8);
  const src = opts.src ?? (v6 ? V6_SRC : V4_SRC);
  const dst = v6 ? V6_DST : V4_DST;
  const pseudo = v6 ? pseudoHeaderSumV6Ref(src, dst, 58, msg.length) : 0;
  const sum = (checksumRef(msg, pseudo) + (opts.badChecksum ? 1 : 0)) & 0xffff;
  msg[2] = sum >> 8;
  msg[3] = sum & 0xff;
  return buildPacket({ v6, src, dst, ipProto: v6 ? 58 : 1, payload: msg, tos: 0x10, flowLabel: v6 ? 0x12345 : 0, ipId: v6 ? 0 : 0x4242 });
}

/** Copies the request into scratch, parses it, asks for a reply; returns [parse reason, reply bytes]. */
function reply(packet: Uint8Array, cap = 4096, inPlace = false): [number, Uint8Array] {
  const sp = core.scratchPtr();
  engine.views.u8.set(packet, sp);
  const reason = core.wireParse(sp, packet.length, 1);
  const out = inPlace ? sp : sp + OUT;
  const n = core.icmpEchoReply(sp, packet.length, core.wireSegment(), out, cap);
  return [reason, engine.views.u8.slice(out, out + n)];
}

const DATA = Uint8Array.from({ length: 56 }, (_, i) => i);

describe("ICMP echo", () => {
  it("parsePacket refuses ICMP as NOT_TCP with the IP fields and the ICMP message bounds set", () => {
    const p = echo(8, false, DATA);
    const sp = core.scratchPtr();
    engine.views.u8.set(p, sp);
    expect(core.wireParse(sp, p.length, 1)).toBe(R.NOT_TCP);
    const seg = core.wireSegment();
    const u8 = engine.views.u8;
    const dv = engine.views.dv;
    expect(u8[seg + layout.ipVersion!]).toBe(4);
    expect(u8[seg + layout.ipProto!]).toBe(1);
    expect(u8[seg + layout.tos!]).toBe(0x10);
    expect(dv.getUint16(seg + layout.ipId!, true)).toBe(0x4242);
    expect(Array.from(u8.subarray(seg + layout.srcA!, seg + layout.srcA! + 4))).toEqual(Array.from(V4_SRC));
    expect(dv.getUint32(seg + layout.payloadOffset!, true)).toBe(20);
    expect(dv.getUint32(seg + layout.payloadLen!, true)).toBe(64);
  });

  it("answers an IPv4 echo request: addresses swapped, type 0, identifier, sequence and data kept", () => {
    const request = echo(8, false, DATA);
    const [reason, r] = reply(request);
    expect(reason).toBe(R.NOT_TCP);
    expect(r.length).toBe(request.length);
    expect(checksumRef(r.subarray(0, 20))).toBe(0);
    // Version/IHL, TOS kept, total length, identification 0 with DF (RFC 6864 4.1), TTL 64, ICMP.
    expect(toHex(r.subarray(0, 10))).toBe(`4510${request.length.toString(16).padStart(4, "0")}000040004001`);
    expect(Array.from(r.subarray(12, 16))).toEqual(Array.from(V4_DST));
    expect(Array.from(r.subarray(16, 20))).toEqual(Array.from(V4_SRC));
    expect(r[20]).toBe(0);
    expect(r[21]).toBe(0);
    expect(checksumRef(r.subarray(20))).toBe(0);
    expect(toHex(r.subarray(24))).toBe(toHex(request.subarray(24)));
  });

  it("answers an IPv6 echo request with an echo reply checksummed over the pseudo-header", () => {
    const request = echo(128, true, DATA.subarray(0, 13));
    const [reason, r] = reply(request);
    expect(reason).toBe(R.NOT_TCP);
    expect(r.length).toBe(request.length);
    expect(r[0]! >> 4).toBe(6);
    expect(((r[0]! & 0xf) << 4) | (r[1]! >> 4)).toBe(0x10); // traffic class kept
    expect(r[6]).toBe(58);
    expect(r[7]).toBe(64);
    expect(Array.from(r.subarray(8, 24))).toEqual(Array.from(V6_DST));
    expect(Array.from(r.subarray(24, 40))).toEqual(Array.from(V6_SRC));
    expect(r[40]).toBe(129);
    const msg = r.subarray(40);
    expect(onesSumRef(msg, pseudoHeaderSumV6Ref(V6_DST, V6_SRC, 58, msg.length))).toBe(0xffff);
    expect(toHex(msg.subarray(4))).toBe(toHex(request.subarray(44)));
  });

  it("replies in place, also after IPv4 options", () => {
    const msg = echo(8, false, DATA).subarray(20);
    const withOptions = buildPacket({ ipProto: 1, payload: msg, ipv4Options: hex("01010100") });
    const [, r] = reply(withOptions, 4096, true);
    expect(r.length).toBe(20 + msg.length);
    expect(checksumRef(r.subarray(0, 20))).toBe(0);
    expect(r[20]).toBe(0);
    expect(toHex(r.subarray(24))).toBe(toHex(msg.subarray(4)));
    const [, r6] = reply(echo(128, true, DATA), 4096, true);
    expect(r6[40]).toBe(129);
  });

  it("answers nothing else", () => {
    expect(reply(echo(8, false, DATA, { badChecksum: true }))[1].length).toBe(0);
    expect(reply(echo(128, true, DATA, { badChecksum: true }))[1].length).toBe(0);
    expect(reply(echo(0, false, DATA))[1].length).toBe(0); // an echo reply
    expect(reply(echo(129, true, DATA))[1].length).toBe(0);
    expect(reply(echo(8, false, DATA, { code: 1 }))[1].length).toBe(0);
    expect(reply(echo(128, false, DATA))[1].length).toBe(0); // ICMPv6 type over IPv4
    expect(reply(buildPacket({ v6: true, ipProto: 1, payload: echo(8, false, DATA).subarray(20) }))[1].length).toBe(0); // ICMPv4 over IPv6
    expect(reply(buildPacket({ ipProto: 1, payload: hex("0800f7ff 0000") }))[1].length).toBe(0); // shorter than 8 bytes
    expect(reply(echo(8, false, DATA), 83)[1].length).toBe(0); // one byte short of room
    expect(reply(echo(8, false, DATA), 84)[1].length).toBe(84);
    expect(reply(buildPacket({ flags: 0x002 }))[1].length).toBe(0); // TCP
    for (const src of [Uint8Array.of(0, 0, 0, 0), Uint8Array.of(255, 255, 255, 255), Uint8Array.of(224, 0, 0, 1)]) {
      expect(reply(echo(8, false, DATA, { src }))[1].length).toBe(0);
    }
    expect(reply(echo(128, true, DATA, { src: new Uint8Array(16) }))[1].length).toBe(0);
    expect(reply(echo(128, true, DATA, { src: hex("ff020000000000000000000000000001") }))[1].length).toBe(0);
  });

  it("answers a minimal 8-byte request", () => {
    const [, r] = reply(echo(8, false, new Uint8Array(0)));
    expect(r.length).toBe(28);
    expect(checksumRef(r.subarray(20))).toBe(0);
  });
});

// The DNS responder (src/net/dns-responder.ts): own names answered authoritatively (octet for octet
// against scapy's answer), PTR for own addresses, the user's lookup and each way it can answer
// (addresses, NODATA, NXDOMAIN, SERVFAIL), FORMERR, NOTIMP, REFUSED, BADVERS, silence for responses
// and scraps, UDP truncation at 512 or the EDNS0 size, and TCP without a limit.
import { describe, expect, it } from "vitest";
import { thrownCode } from "../fixtures/thrown.js";
import { DnsRcode, DnsType, encodeDnsMessage, optRecord, parseDnsMessage, type DnsMessage } from "../../src/net/dns-message.js";
import { DnsTcpReader, frameDnsTcp } from "../../src/net/dns-tcp.js";
import { createDnsResponder, reverseName, type DnsLookup } from "../../src/net/dns-responder.js";
import { parseIpv6 } from "../../src/core/address.js";
import { Prng } from "../../src/core/prng.js";
import { DNS_MESSAGES } from "../fixtures/dns-messages.js";

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function parsed(bytes: Uint8Array | null): DnsMessage {
  expect(bytes).not.toBeNull();
  const r = parseDnsMessage(bytes!);
  if (!r.ok) throw new Error(`refused: ${r.reason}`);
  return r.message;
}

const query = (name: string, type: number, extra: Partial<DnsMessage> = {}) =>
  encodeDnsMessage({ id: 0x4242, rd: true, questions: [{ name, type, class: 1 }], ...extra });

const names = { "example.test": ["192.0.2.1", "2001:db8::1"], "gateway.test": "10.0.2.2" };

describe("own names", () => {
  it("answers AAAA as scapy builds the answer, octet for octet", async () => {
    const responder = createDnsResponder({ names });
    const response = await responder.handle(hex(DNS_MESSAGES.queryAaaaNoEdns));
    expect(toHex(response!)).toBe(DNS_MESSAGES.ownAaaa);
  });

  it("answers A with AA set, any case, the name spelled as asked", async () => {
    const responder = createDnsResponder({ names, ttl: 300 });
    const m = parsed(await responder.handle(query("Example.TEST", DnsType.A)));
    expect(m).toMatchObject({ id: 0x4242, qr: true, aa: true, rd: true, ra: false, rcode: 0, tc: false });
    expect(m.answers).toEqual([{ name: "Example.TEST", type: DnsType.A, class: 1, ttl: 300, data: "192.0.2.1" }]);
  });

  it("gives NODATA for a family or type an own name lacks", async () => {
    const responder = createDnsResponder({ names });
    for (const type of [DnsType.AAAA, DnsType.MX]) {
      const m = parsed(await responder.handle(query("gateway.test", type)));
      expect(m).toMatchObject({ rcode: 0, aa: true });
      expect(m.answers).toEqual([]);
    }
  });

  it("answers PTR for its IPv4 and IPv6 addresses (RFC 1035 3.5, RFC 3596 2.5)", async () => {
    const responder = createDnsResponder({ names });
    const v4 = parsed(await responder.handle(hex(DNS_MESSAGES.queryPtr)));
    expect(v4).toMatchObject({ id: 7, aa: true, rcode: 0 });
    expect(v4.answers).toEqual([{ name: "2.2.0.10.in-addr.arpa", type: DnsType.PTR, class: 1, ttl: 60, data: "gateway.test" }]);
    const v6name = reverseName(parseIpv6("2001:db8::1")!);
    expect(v6name).toBe("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    const v6 = parsed(await responder.handle(query(v6name, DnsType.PTR)));
    expect(v6.answers[0].data).toBe("example.test");
    // Reverse names of other addresses do not exist here, even with a lookup.
    const other = createDnsResponder({ names, lookup: async () => ["192.0.2.9"] });
    expect(parsed(await other.handle(query("9.2.0.192.in-addr.arpa", DnsType.PTR))).rcode).toBe(DnsRcode.NXDOMAIN);
  });
});

describe("the lookup function", () => {
  it("is asked for foreign names; its addresses are answered with RA set, other families left out", async () => {
    const asked: [string, string][] = [];
    const lookup: DnsLookup = async (name, type) => {
      asked.push([name, type]);
      return type === "A" ? ["198.51.100.7", { address: "198.51.100.8", ttl: 5 }, "2001:db8::9", "not an address"] : ["2001:db8::9"];
    };
    const responder = createDnsResponder({ names, lookup, ttl: 30 });
    const a = parsed(await responder.handle(query("far.test", DnsType.A)));
    expect(a).toMatchObject({ aa: false, ra: true, rcode: 0 });
    expect(a.answers.map((r) => [r.data, r.ttl])).toEqual([["198.51.100.7", 30], ["198.51.100.8", 5]]);
    const aaaa = parsed(await responder.handle(query("far.test", DnsType.AAAA)));
    expect(aaaa.answers.map((r) => r.data)).toEqual(["2001:db8::9"]);
    expect(asked).toEqual([["far.test", "A"], ["far.test", "AAAA"]]);
  });

  it("null is NXDOMAIN, [] is NODATA, a throw is SERVFAIL, no lookup is NXDOMAIN", async () => {
    const rcodeOf = async (lookup: DnsLookup | undefined) => {
      const m = parsed(await createDnsResponder(lookup ? { lookup } : {}).handle(query("far.test", DnsType.A)));
      expect(m.answers).toEqual([]);
      expect(m.questions).toEqual([{ name: "far.test", type: 1, class: 1 }]);
      return m.rcode;
    };
    expect(await rcodeOf(async () => null)).toBe(DnsRcode.NXDOMAIN);
    expect(await rcodeOf(async () => [])).toBe(DnsRcode.NOERROR);
    expect(await rcodeOf(async () => {
      throw new Error("upstream down");
    })).toBe(DnsRcode.SERVFAIL);
    expect(await rcodeOf(undefined)).toBe(DnsRcode.NXDOMAIN);
  });
});

describe("refusals", () => {
  const responder = createDnsResponder({ names });

  it("FORMERR for malformed queries, the ID echoed", async () => {
    const cut = hex(DNS_MESSAGES.queryA).subarray(0, 20);
    const m = parsed(await responder.handle(cut));
    expect(m).toMatchObject({ id: 0x1234, qr: true, rcode: DnsRcode.FORMERR });
    expect(m.questions).toEqual([]);
    const loop = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(parsed(await responder.handle(loop)).rcode).toBe(DnsRcode.FORMERR);
    const two = encodeDnsMessage({ id: 3, questions: [{ name: "a.test", type: 1, class: 1 }, { name: "b.test", type: 1, class: 1 }] });
    expect(parsed(await responder.handle(two)).rcode).toBe(DnsRcode.FORMERR);
    const noQuestion = encodeDnsMessage({ id: 3 });
    expect(parsed(await responder.handle(noQuestion)).rcode).toBe(DnsRcode.FORMERR);
  });

  it("NOTIMP for opcodes other than QUERY, the question echoed", async () => {
    const m = parsed(await responder.handle(query("example.test", DnsType.A, { opcode: 2 })));
    expect(m).toMatchObject({ opcode: 2, rcode: DnsRcode.NOTIMP });
    expect(m.answers).toEqual([]);
    expect(m.questions[0].name).toBe("example.test");
  });

  it("REFUSED for classes other than IN", async () => {
    const chaos = encodeDnsMessage({ id: 1, questions: [{ name: "version.bind", type: 16, class: 3 }] });
    expect(parsed(await responder.handle(chaos)).rcode).toBe(DnsRcode.REFUSED);
  });

  it("BADVERS for an EDNS version it does not speak (RFC 6891 6.1.3)", async () => {
    const v1 = query("example.test", DnsType.A, { additionals: [{ ...optRecord(1232), ttl: 0x0001_0000 }] });
    const m = parsed(await responder.handle(v1));
    expect(m.answers).toEqual([]);
    expect(m.rcode).toBe(0);
    expect(m.additionals[0].type).toBe(DnsType.OPT);
    expect(m.additionals[0].ttl >>> 24).toBe(DnsRcode.BADVERS >> 4);
  });

  it("stays silent for responses and for fewer than 12 octets, and counts them", async () => {
    const responder = createDnsResponder({ names });
    expect(await responder.handle(hex(DNS_MESSAGES.answerA))).toBeNull();
    expect(await responder.handle(new Uint8Array(11))).toBeNull();
    const garbageResponse = Uint8Array.from([1, 2, 0x80, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0xc0]);
    expect(await responder.handle(garbageResponse)).toBeNull();
    expect(responder.counters).toMatchObject({ queries: 3, dropped: 3, formerr: 0 });
    await responder.handle(hex(DNS_MESSAGES.queryA).subarray(0, 20));
    await responder.handle(hex(DNS_MESSAGES.queryA));
    expect(responder.counters).toMatchObject({ queries: 5, dropped: 3, formerr: 1, noerror: 1 });
  });
});

describe("size (RFC 1035 4.2.1, RFC 6891 6.2.5, RFC 7766)", () => {
  const many = Array.from({ length: 80 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
  const responder = createDnsResponder({ lookup: async () => many });

  it("truncates at 512 octets with TC for a query without EDNS0", async () => {
    const response = await responder.handle(query("big.test", DnsType.AAAA));
    expect(response!.length).toBeLessThanOrEqual(512);
    const m = parsed(response);
    expect(m.tc).toBe(true);
    expect(m.answers.length).toBeGreaterThan(10);
    expect(m.answers.map((r) => r.data)).toEqual(many.slice(0, m.answers.length));
    expect(responder.counters.truncated).toBeGreaterThan(0);
  });

  it("uses the requestor's EDNS0 size up to its own limit, and answers with an OPT", async () => {
    const edns = (size: number) => query("big.test", DnsType.AAAA, { additionals: [optRecord(size)] });
    const m1232 = await responder.handle(edns(4096));
    expect(m1232!.length).toBeLessThanOrEqual(1232);
    expect(m1232!.length).toBeGreaterThan(1100);
    expect(parsed(m1232).tc).toBe(true);
    expect(parsed(m1232).additionals).toEqual([optRecord(1232)]);
    // A requestor advertising less than 512 still gets 512 (RFC 6891 6.2.5).
    expect((await responder.handle(edns(100)))!.length).toBeLessThanOrEqual(512);
    expect((await responder.handle(edns(100)))!.length).toBeGreaterThan(400);
    // A per-query limit (a path MTU) below the requestor's size.
    expect((await responder.handle(edns(4096), { maxUdp: 600 }))!.length).toBeLessThanOrEqual(600);
    const big = createDnsResponder({ lookup: async () => many, maxUdp: 4096 });
    const whole = parsed(await big.handle(edns(4096)));
    expect(whole.tc).toBe(false);
    expect(whole.answers).toHaveLength(80);
  });

  it("answers everything over TCP, framed with its length", async () => {
    const response = await responder.handle(query("big.test", DnsType.AAAA), { tcp: true });
    const m = parsed(response);
    expect(m.tc).toBe(false);
    expect(m.answers).toHaveLength(80);
    const framed = frameDnsTcp(response!);
    expect((framed[0] << 8) | framed[1]).toBe(response!.length);
    expect(new DnsTcpReader().push(framed).map(toHex)).toEqual([toHex(response!)]);
  });
});

describe("options", () => {

  it("are checked with Node-style codes", async () => {
    expect(thrownCode(() => createDnsResponder({ lookup: 5 as never }))).toBe("ERR_INVALID_ARG_TYPE");
    expect(thrownCode(() => createDnsResponder({ ttl: -1 }))).toBe("ERR_OUT_OF_RANGE");
    expect(thrownCode(() => createDnsResponder({ maxUdp: 511 }))).toBe("ERR_OUT_OF_RANGE");
    expect(thrownCode(() => createDnsResponder({ names: { "a..b": "10.0.0.1" } }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDnsResponder({ names: { "a.test": "10.0.0.300" } }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDnsResponder({ names: { "a.test": 5 as never } }))).toBe("ERR_INVALID_ARG_TYPE");
    expect(thrownCode(() => createDnsResponder({ tll: 5 } as never))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDnsResponder(5 as never))).toBe("ERR_INVALID_ARG_TYPE");
    const responder = createDnsResponder();
    await expect(responder.handle("nope" as never)).rejects.toMatchObject({ code: "ERR_INVALID_ARG_TYPE" });
    await expect(responder.handle(new Uint8Array(12), { maxUdp: 70000 })).rejects.toMatchObject({ code: "ERR_OUT_OF_RANGE" });
  });
});

describe("fuzz", () => {
  it("30,000 mutated queries: never a rejection; silence or a parseable response with the query's ID", async () => {
    const prng = new Prng(0x5eed);
    const responder = createDnsResponder({ names, lookup: async (name) => (name.length % 3 === 0 ? null : ["192.0.2.1", "2001:db8::1"]) });
    const seeds = [DNS_MESSAGES.queryA, DNS_MESSAGES.queryAaaaNoEdns, DNS_MESSAGES.queryPtr].map(hex);
    const rcodes = new Set<number>();
    for (let i = 0; i < 30_000; i++) {
      let bytes = seeds[prng.nextInt(seeds.length)].slice();
      for (let f = 0; f < 1 + prng.nextInt(3); f++) bytes[prng.nextInt(bytes.length)] = prng.nextU32() & 0xff;
      if (prng.chance(0.1)) bytes = bytes.subarray(0, prng.nextInt(bytes.length + 1));
      const response = await responder.handle(bytes);
      if (response === null) {
        expect(bytes.length < 12 || (bytes[2] & 0x80) !== 0).toBe(true);
        continue;
      }
      expect(response.length).toBeLessThanOrEqual(1232);
      const m = parsed(response);
      expect(m.id).toBe((bytes[0] << 8) | bytes[1]);
      expect(m.qr).toBe(true);
      rcodes.add(m.rcode);
    }
    for (const rcode of [DnsRcode.NOERROR, DnsRcode.FORMERR, DnsRcode.NXDOMAIN, DnsRcode.NOTIMP, DnsRcode.REFUSED]) expect(rcodes, String(rcode)).toContain(rcode);
    const c = responder.counters;
    expect(c.queries).toBe(30_000);
    expect(c.dropped + c.noerror + c.formerr + c.servfail + c.nxdomain + c.notimp + c.refused + c.badvers).toBe(30_000);
    expect(c.formerr).toBeGreaterThan(1000);
  });
});

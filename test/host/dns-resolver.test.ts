// The resolver core (src/net/dns-resolver.ts): its query equals scapy's octet for octet, the retry
// plan, matching (ID, question, server), CNAME chains (bounded), TC -> TCP, SERVFAIL, the cache with
// TTLs counted down on the caller's clock, negative caching from the SOA (RFC 2308 5), its bound.
import { describe, expect, it } from "vitest";
import { thrownCode } from "../fixtures/thrown.js";
import { Prng } from "../../src/core/prng.js";
import { DnsRcode, DnsType, encodeDnsMessage, parseDnsMessage, type DnsMessage, type DnsRecord } from "../../src/net/dns-message.js";
import { DnsTcpReader, frameDnsTcp } from "../../src/net/dns-tcp.js";
import { createDnsResolver, type DnsQuery, type DnsResolverOptions } from "../../src/net/dns-resolver.js";
import { createDnsResponder } from "../../src/net/dns-responder.js";
import { DNS_MESSAGES } from "../fixtures/dns-messages.js";

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A random source that gives the ID `id` every time. */
const fixedId = (id: number) => (b: Uint8Array) => {
  b[0] = id >> 8;
  b[1] = id & 0xff;
};

const SERVER = "10.0.2.3";
const resolverWith = (id: number, more: Partial<DnsResolverOptions> = {}) => createDnsResolver({ servers: [SERVER], random: fixedId(id), udpSize: 0, ...more });

const cname = (name: string, target: string, ttl = 60): DnsRecord => ({ name, type: DnsType.CNAME, class: 1, ttl, data: target });
const a = (name: string, address: string, ttl = 60): DnsRecord => ({ name, type: DnsType.A, class: 1, ttl, data: address });

function responseTo(q: DnsQuery, fields: Partial<DnsMessage>): Uint8Array {
  return encodeDnsMessage({ id: q.id, qr: true, rd: true, ra: true, questions: [{ name: q.name, type: DnsType[q.type], class: 1 }], ...fields });
}

describe("queries and the retry plan", () => {
  it("builds the query scapy builds, with the ID from the random source and RD set", () => {
    const q = resolverWith(0xbeef).query("example.test", "AAAA")!;
    expect(toHex(q.bytes)).toBe(DNS_MESSAGES.queryAaaaNoEdns);
    expect(q).toMatchObject({ id: 0xbeef, attempt: 0, server: SERVER, port: 53, timeoutMs: 1000 });
  });

  it("advertises 1232 octets in an OPT record by default (RFC 6891)", () => {
    const q = createDnsResolver({ servers: [SERVER], random: fixedId(0x1234) }).query("example.test", "A")!;
    const m = parseDnsMessage(q.bytes);
    expect(m.ok && m.message.additionals).toEqual([{ name: "", type: DnsType.OPT, class: 1232, ttl: 0, data: new Uint8Array(0) }]);
    // scapy's dig-like query, but for dig's DO bit.
    const dig = hex(DNS_MESSAGES.queryA);
    dig[dig.length - 4] = 0;
    expect(toHex(q.bytes)).toBe(toHex(dig));
  });

  it("draws a new ID for each query", () => {
    const prng = new Prng(1);
    const r = createDnsResolver({ servers: [SERVER], random: (b) => prng.fill(b) });
    const ids = new Set(Array.from({ length: 50 }, () => r.query("example.test", "A")!.id));
    expect(ids.size).toBeGreaterThan(45);
  });

  it("walks every server once per round with the round's timeout, then stops", () => {
    const r = createDnsResolver({ servers: ["10.0.2.3", "fd00::3"], timeouts: [500, 1500], port: 5353, random: fixedId(1) });
    const plan = [0, 1, 2, 3].map((n) => r.query("x.test", "A", n)!).map((q) => [q.server, q.port, q.timeoutMs]);
    expect(plan).toEqual([["10.0.2.3", 5353, 500], ["fd00::3", 5353, 500], ["10.0.2.3", 5353, 1500], ["fd00::3", 5353, 1500]]);
    expect(r.query("x.test", "A", 4)).toBeNull();
  });
});

describe("answers", () => {
  it("reads scapy's A answer and caches it, TTLs counted down on the caller's clock", () => {
    const r = resolverWith(0x1234);
    const q = r.query("example.test", "A")!;
    const result = r.accept(q, hex(DNS_MESSAGES.answerA), SERVER, 1_000_000);
    expect(result).toEqual({ status: "addresses", name: "example.test", ttl: 30, addresses: [{ address: "192.0.2.1", ttl: 60 }, { address: "192.0.2.2", ttl: 30 }] });
    // RFC 2181 5.2: records of one RRset with different TTLs count as the smallest; the entry lives that long.
    expect(r.cached("EXAMPLE.test.", "A", 1_010_000)).toEqual({ status: "addresses", name: "example.test", ttl: 20, addresses: [{ address: "192.0.2.1", ttl: 20 }, { address: "192.0.2.2", ttl: 20 }] });
    expect(r.cached("example.test", "AAAA", 1_010_000)).toBeUndefined();
    expect(r.cached("example.test", "A", 1_030_000)).toBeUndefined();
    expect(r.cacheEntries).toBe(0);
  });

  it("follows scapy's CNAME chain; the TTL is the chain's smallest", () => {
    const r = resolverWith(0x1234);
    const q = r.query("www.example.test", "A")!;
    expect(r.accept(q, hex(DNS_MESSAGES.answerCname), SERVER, 0)).toEqual({ status: "addresses", name: "example.test", ttl: 60, addresses: [{ address: "192.0.2.1", ttl: 60 }] });
  });

  it("bounds CNAME chains and breaks loops", () => {
    const r = resolverWith(5, { maxCnameHops: 3 });
    const q = r.query("n0.test", "A")!;
    const chain = (n: number) => [...Array.from({ length: n }, (_, i) => cname(`n${i}.test`, `n${i + 1}.test`)), a(`n${n}.test`, "192.0.2.5")];
    expect(r.accept(q, responseTo(q, { answers: chain(3) }), SERVER, 0)).toMatchObject({ status: "addresses", name: "n3.test" });
    expect(r.accept(q, responseTo(q, { answers: chain(4) }), SERVER, 0)).toMatchObject({ status: "failed", reason: "cname-chain" });
    const loop = [cname("n0.test", "n1.test"), cname("n1.test", "n0.test")];
    expect(r.accept(q, responseTo(q, { answers: loop }), SERVER, 0)).toMatchObject({ status: "failed", reason: "cname-chain" });
    // A chain that ends at a name without addresses is NODATA; records off the chain are not used.
    expect(r.accept(q, responseTo(q, { answers: [cname("n0.test", "n1.test"), a("elsewhere.test", "192.0.2.6")] }), SERVER, 0)).toMatchObject({ status: "nodata" });
  });

  it("says to retry over TCP when TC is set over UDP, and takes the answer over TCP", () => {
    const r = resolverWith(9);
    const q = r.query("big.test", "A")!;
    const cut = responseTo(q, { tc: true, answers: [a("big.test", "192.0.2.1")] });
    expect(r.accept(q, cut, SERVER, 0)).toEqual({ status: "truncated" });
    expect(r.cacheEntries).toBe(0);
    expect(r.accept(q, cut, SERVER, 0, true)).toMatchObject({ status: "addresses" });
  });

  it("tells a server without EDNS0 from a FORMERR, and asks it again plainly (RFC 6891 7)", () => {
    const r = createDnsResolver({ servers: [SERVER], random: fixedId(4) });
    const q = r.query("old.test", "A")!;
    expect(q.edns).toBe(true);
    expect(r.accept(q, responseTo(q, { rcode: DnsRcode.FORMERR }), SERVER, 0)).toEqual({ status: "failed", rcode: 1, reason: "no-edns" });
    const plain = r.query("old.test", "A", 0, true)!;
    expect(plain.edns).toBe(false);
    const m = parseDnsMessage(plain.bytes);
    expect(m.ok && m.message.additionals).toEqual([]);
    expect(r.accept(plain, responseTo(plain, { rcode: DnsRcode.FORMERR }), SERVER, 0)).toMatchObject({ status: "failed", reason: "rcode" });
    expect(r.accept(plain, responseTo(plain, { answers: [a("old.test", "192.0.2.3")] }), SERVER, 0)).toMatchObject({ status: "addresses" });
  });

  it("reports SERVFAIL and REFUSED as failures, not cached", () => {
    const r = resolverWith(9);
    const q = r.query("x.test", "A")!;
    expect(r.accept(q, responseTo(q, { rcode: DnsRcode.SERVFAIL }), SERVER, 0)).toEqual({ status: "failed", rcode: 2, reason: "rcode" });
    expect(r.accept(q, responseTo(q, { rcode: DnsRcode.REFUSED }), SERVER, 0)).toMatchObject({ status: "failed", rcode: 5 });
    expect(r.cacheEntries).toBe(0);
  });
});

describe("negative caching (RFC 2308)", () => {
  it("caches scapy's NXDOMAIN for min(SOA TTL, SOA MINIMUM)", () => {
    const r = resolverWith(0x1234);
    const q = r.query("missing.example.test", "A")!;
    expect(r.accept(q, hex(DNS_MESSAGES.nxdomainSoa), SERVER, 0)).toEqual({ status: "nxdomain", ttl: 300 });
    expect(r.cached("missing.example.test", "A", 299_000)).toEqual({ status: "nxdomain", ttl: 1 });
    expect(r.cached("missing.example.test", "A", 300_000)).toBeUndefined();
  });

  it("holds an NXDOMAIN for every type of the name, but not one at the end of a CNAME chain", () => {
    const r = resolverWith(0x1234);
    const q = r.query("missing.example.test", "A")!;
    r.accept(q, hex(DNS_MESSAGES.nxdomainSoa), SERVER, 0);
    expect(r.cached("missing.example.test", "AAAA", 1000)).toEqual({ status: "nxdomain", ttl: 299 });
    const soa = parseDnsMessage(hex(DNS_MESSAGES.nxdomainSoa));
    const q2 = r.query("alias.test", "A")!;
    const chained = responseTo(q2, { rcode: DnsRcode.NXDOMAIN, answers: [cname("alias.test", "gone.test")], authorities: soa.ok ? soa.message.authorities : [] });
    expect(r.accept(q2, chained, SERVER, 0)).toEqual({ status: "nxdomain", ttl: 60 });
    expect(r.cached("alias.test", "A", 1000)).toEqual({ status: "nxdomain", ttl: 59 });
    expect(r.cached("alias.test", "AAAA", 1000)).toBeUndefined();
  });

  it("caps it with maxNegativeTtl, and does not cache without an SOA", () => {
    const r = resolverWith(0x1234, { maxNegativeTtl: 100 });
    const q = r.query("missing.example.test", "A")!;
    expect(r.accept(q, hex(DNS_MESSAGES.nxdomainSoa), SERVER, 0)).toEqual({ status: "nxdomain", ttl: 100 });
    const q2 = r.query("nodata.test", "AAAA")!;
    expect(r.accept(q2, responseTo(q2, {}), SERVER, 0)).toEqual({ status: "nodata", ttl: 0 });
    expect(r.cached("nodata.test", "AAAA", 0)).toBeUndefined();
  });
});

describe("matching (RFC 5452)", () => {
  const r = resolverWith(0x1234);
  const q = r.query("example.test", "A")!;
  const good = hex(DNS_MESSAGES.answerA);

  it("ignores the wrong ID, server, question, a query, a malformed message", () => {
    const wrongId = good.slice();
    wrongId[1] ^= 1;
    expect(r.accept(q, wrongId, SERVER, 0)).toEqual({ status: "ignored", reason: "id" });
    expect(r.accept(q, good, "10.0.2.4", 0)).toEqual({ status: "ignored", reason: "server" });
    expect(r.accept(q, good, "not an address", 0)).toEqual({ status: "ignored", reason: "server" });
    const other = r.query("other.test", "A")!;
    expect(r.accept({ ...other, id: 0x1234 }, good, SERVER, 0)).toEqual({ status: "ignored", reason: "question" });
    expect(r.accept({ ...q, type: "AAAA" }, good, SERVER, 0)).toEqual({ status: "ignored", reason: "question" });
    expect(r.accept(q, q.bytes, SERVER, 0)).toEqual({ status: "ignored", reason: "not-a-response" });
    expect(r.accept(q, good.subarray(0, 30), SERVER, 0)).toEqual({ status: "ignored", reason: "malformed: truncated" });
  });

  it("takes the server's address in any spelling and the question in any case", () => {
    const v6 = createDnsResolver({ servers: ["fd00::3"], random: fixedId(0x1234) });
    const q6 = v6.query("EXAMPLE.test", "A")!;
    expect(v6.accept(q6, good, "fd00:0:0::3", 0)).toMatchObject({ status: "addresses" });
  });

  it("never throws for mutated responses (20,000)", () => {
    const prng = new Prng(7);
    for (let i = 0; i < 20_000; i++) {
      const bytes = good.slice();
      for (let f = 0; f < 1 + prng.nextInt(3); f++) bytes[prng.nextInt(bytes.length)] = prng.nextU32() & 0xff;
      const result = r.accept(q, bytes, SERVER, i);
      expect(["addresses", "nxdomain", "nodata", "truncated", "failed", "ignored"]).toContain(result.status);
    }
  });
});

describe("the cache's bound and options", () => {
  it("keeps at most cacheSize entries, dropping the oldest", () => {
    const r = resolverWith(1, { cacheSize: 2 });
    for (const name of ["a.test", "b.test", "c.test"]) {
      const q = r.query(name, "A")!;
      r.accept(q, responseTo(q, { answers: [a(name, "192.0.2.1")] }), SERVER, 0);
    }
    expect(r.cacheEntries).toBe(2);
    expect(r.cached("a.test", "A", 0)).toBeUndefined();
    expect(r.cached("c.test", "A", 0)).toMatchObject({ status: "addresses" });
    r.clear();
    expect(r.cacheEntries).toBe(0);
  });

  it("checks options and arguments with Node-style codes", () => {
    expect(thrownCode(() => createDnsResolver(undefined as never))).toBe("ERR_INVALID_ARG_TYPE");
    expect(thrownCode(() => createDnsResolver({ servers: [] }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDnsResolver({ servers: ["dns.test"] }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDnsResolver({ servers: [SERVER], port: 0 }))).toBe("ERR_OUT_OF_RANGE");
    expect(thrownCode(() => createDnsResolver({ servers: [SERVER], timeouts: [0] }))).toBe("ERR_OUT_OF_RANGE");
    expect(thrownCode(() => createDnsResolver({ servers: [SERVER], random: 1 as never }))).toBe("ERR_INVALID_ARG_TYPE");
    expect(thrownCode(() => createDnsResolver({ servers: [SERVER], udpSize: 511 }))).toBe("ERR_OUT_OF_RANGE");
    expect(thrownCode(() => createDnsResolver({ servers: [SERVER], server: "x" } as never))).toBe("ERR_INVALID_ARG_VALUE");
    const r = resolverWith(1);
    expect(thrownCode(() => r.query("a..b", "A"))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => r.query("a.test", "MX" as never))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => r.cached("a.test", "A", Number.NaN))).toBe("ERR_OUT_OF_RANGE");
    const q = r.query("a.test", "A")!;
    expect(thrownCode(() => r.accept(q, "x" as never, SERVER, 0))).toBe("ERR_INVALID_ARG_TYPE");
  });
});

describe("against the responder", () => {
  it("resolves own and looked-up names, NXDOMAIN, and a large answer by UDP, TC, then TCP", async () => {
    const many = Array.from({ length: 80 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
    const responder = createDnsResponder({
      names: { "gateway.test": ["10.0.2.2"] },
      lookup: async (name, type) => (name === "big.test" ? (type === "AAAA" ? many : []) : name === "far.test" ? ["198.51.100.7"] : null),
    });
    const prng = new Prng(3);
    const r = createDnsResolver({ servers: [SERVER], random: (b) => prng.fill(b) });
    const ask = async (name: string, type: "A" | "AAAA", tcp = false) => {
      const q = r.query(name, type)!;
      if (!tcp) return { q, result: r.accept(q, (await responder.handle(q.bytes))!, SERVER, 0) };
      // Over TCP the query and the answer travel framed (RFC 7766 8).
      const reader = new DnsTcpReader();
      const [query] = reader.push(frameDnsTcp(q.bytes));
      const [answer] = new DnsTcpReader().push(frameDnsTcp((await responder.handle(query, { tcp: true }))!));
      return { q, result: r.accept(q, answer, SERVER, 0, true) };
    };
    expect((await ask("Gateway.test", "A")).result).toEqual({ status: "addresses", name: "gateway.test", ttl: 60, addresses: [{ address: "10.0.2.2", ttl: 60 }] });
    expect((await ask("far.test", "A")).result).toMatchObject({ status: "addresses", addresses: [{ address: "198.51.100.7" }] });
    expect((await ask("none.test", "A")).result).toEqual({ status: "nxdomain", ttl: 0 });
    expect((await ask("big.test", "A")).result).toEqual({ status: "nodata", ttl: 0 });
    // 80 AAAA records (28 octets each) exceed 1232: TC over UDP, the whole answer over TCP.
    expect((await ask("big.test", "AAAA")).result).toEqual({ status: "truncated" });
    const overTcp = (await ask("big.test", "AAAA", true)).result;
    expect(overTcp.status === "addresses" && overTcp.addresses.map((a) => a.address)).toEqual(many);
    expect(r.cached("big.test", "AAAA", 59_000)).toMatchObject({ status: "addresses", ttl: 1 });
  });
});

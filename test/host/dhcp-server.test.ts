// The DHCP server (src/net/dhcp-server.ts, dhcp-pool.ts, dhcp-message.ts): RFC 2131 4.3 exchanges with a
// virtual clock, reply addressing (RFC 2131 4.1), scapy's messages in and scapy's expected replies
// out, malformed input refused by reason, a flood of DISCOVERs from random MACs against a bounded
// state, and a seeded fuzz.
import { describe, expect, it } from "vitest";
import { Prng } from "../../src/core/prng.js";
import { thrownCode } from "../fixtures/thrown.js";
import type { DhcpReply, DhcpServer } from "../../src/net/dhcp-pool.js";
import { createDhcpServer, type DhcpServerOptions } from "../../src/net/dhcp-server.js";
import { DHCP_FRAMES } from "../fixtures/dhcp-frames.js";
import { dhcpClientMessage as client, DECLINE, DISCOVER, INFORM, RELEASE, REQUEST, type ClientFields } from "../fixtures/dhcp-client.js";

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

const SERVER = "10.0.2.2";
/** The configuration test/fixtures/dhcp-frames.py builds its expected replies for. */
const CONFIG: DhcpServerOptions = {
  serverAddress: SERVER,
  pool: "10.0.2.15-10.0.2.99",
  subnet: "10.0.2.0/24",
  dnsServers: ["10.0.2.3"],
  domainName: "example.test",
  mtu: 1500,
};
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const ip = (s: string): number[] => s.split(".").map(Number);

const MAC_A = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const MAC_B = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];
const MAC_C = [0x52, 0x54, 0x00, 0x00, 0x00, 0x0c];

const yiaddr = (r: DhcpReply): string => Array.from(r.bytes.subarray(16, 20)).join(".");

/** Option `code`'s data in a reply, or undefined. */
function option(r: DhcpReply, code: number): Uint8Array | undefined {
  for (let at = 240; at < r.bytes.length && r.bytes[at] !== 255; ) {
    if (r.bytes[at] === 0) {
      at++;
      continue;
    }
    if (r.bytes[at] === code) return r.bytes.subarray(at + 2, at + 2 + r.bytes[at + 1]!);
    at += 2 + r.bytes[at + 1]!;
  }
  return undefined;
}

/** DISCOVER then SELECTING REQUEST: the ACK. */
function lease(s: DhcpServer, now: number, f: Partial<ClientFields> = {}): DhcpReply {
  const offer = s.handle(client({ ...f, type: DISCOVER }), now)!;
  expect(offer.type).toBe("OFFER");
  const ack = s.handle(client({ ...f, type: REQUEST, serverId: SERVER, requestedIp: yiaddr(offer) }), now)!;
  expect(ack.type).toBe("ACK");
  return ack;
}

describe("scapy's messages", () => {
  it("answers scapy's DISCOVER with the OFFER scapy builds, and its REQUEST with the ACK, byte for byte", () => {
    const s = createDhcpServer(CONFIG);
    const offer = s.handle(hex(DHCP_FRAMES.discover), 0)!;
    expect(toHex(offer.bytes)).toBe(DHCP_FRAMES.offer);
    const ack = s.handle(hex(DHCP_FRAMES.request), 10)!;
    expect(toHex(ack.bytes)).toBe(DHCP_FRAMES.ack);
    expect(s.leases(10)).toEqual([{ address: "10.0.2.15", state: "leased", clientId: Uint8Array.of(1, ...MAC_A), expiresAtMs: 10 + HOUR }]);
  });

  it("addresses replies per RFC 2131 4.1: unicast to yiaddr at chaddr, broadcast when the flag asks", () => {
    const s = createDhcpServer(CONFIG);
    const unicast = s.handle(hex(DHCP_FRAMES.discover), 0)!;
    expect(unicast).toMatchObject({ destinationIp: "10.0.2.15", destinationPort: 68, destinationMac: Uint8Array.from(MAC_A), broadcast: false });
    const broadcast = s.handle(hex(DHCP_FRAMES.discoverBroadcast), 0)!;
    expect(broadcast).toMatchObject({ destinationIp: "255.255.255.255", destinationMac: Uint8Array.of(255, 255, 255, 255, 255, 255), broadcast: true });
    expect(broadcast.bytes[10]).toBe(0x80);
    const relayed = s.handle(client({ type: DISCOVER, giaddr: "10.0.2.254" }), 0)!;
    expect(relayed).toMatchObject({ destinationIp: "10.0.2.254", destinationPort: 67, destinationMac: null, broadcast: false });
    expect(Array.from(relayed.bytes.subarray(24, 28))).toEqual(ip("10.0.2.254"));
  });
});

describe("RFC 2131 4.3 exchanges", () => {
  it("renews (unicast, ciaddr) and rebinds (broadcast, ciaddr): the lease is extended and the ACK goes to ciaddr", () => {
    const s = createDhcpServer(CONFIG);
    lease(s, 0);
    const renew = s.handle(client({ type: REQUEST, ciaddr: "10.0.2.15" }), 30 * MINUTE)!;
    expect(renew).toMatchObject({ type: "ACK", destinationIp: "10.0.2.15", broadcast: false });
    expect(yiaddr(renew)).toBe("10.0.2.15");
    expect(Array.from(renew.bytes.subarray(12, 16))).toEqual(ip("10.0.2.15"));
    expect(s.leases(30 * MINUTE)[0]!.expiresAtMs).toBe(30 * MINUTE + HOUR);
    const rebind = s.handle(client({ type: REQUEST, ciaddr: "10.0.2.15", broadcast: true }), 80 * MINUTE)!;
    expect(rebind).toMatchObject({ type: "ACK", destinationIp: "10.0.2.15" });
    expect(s.leases(80 * MINUTE)[0]!.expiresAtMs).toBe(80 * MINUTE + HOUR);
    // Another client renewing an address it does not hold is refused.
    const thief = s.handle(client({ type: REQUEST, mac: MAC_B, ciaddr: "10.0.2.15" }), 80 * MINUTE)!;
    expect(thief.type).toBe("NAK");
    expect(s.counters).toMatchObject({ acks: 3, naks: 1 });
  });

  it("INIT-REBOOT: a wrong subnet gets a broadcast NAK, another client's address a NAK, an unknown address silence, its own an ACK", () => {
    const s = createDhcpServer(CONFIG);
    lease(s, 0);
    const wrong = s.handle(client({ type: REQUEST, mac: MAC_B, requestedIp: "192.168.1.20" }), 1)!;
    expect(wrong).toMatchObject({ type: "NAK", destinationIp: "255.255.255.255", broadcast: true });
    expect(yiaddr(wrong)).toBe("0.0.0.0");
    expect(option(wrong, 53)).toEqual(Uint8Array.of(6));
    expect(option(wrong, 51)).toBeUndefined();
    expect(s.handle(client({ type: REQUEST, mac: MAC_B, requestedIp: "10.0.2.15" }), 1)!.type).toBe("NAK");
    expect(s.handle(client({ type: REQUEST, mac: MAC_B, requestedIp: "10.0.2.40" }), 1)).toBeNull();
    expect(s.handle(client({ type: REQUEST, requestedIp: "10.0.2.15" }), 1)!.type).toBe("ACK");
    expect(s.counters).toMatchObject({ naks: 2, ignored: 1, acks: 2 });
    // Through a relay: to the relay's port 67, with the broadcast bit set for the relay to use.
    const relayed = s.handle(client({ type: REQUEST, mac: MAC_B, requestedIp: "192.168.1.20", giaddr: "10.0.2.254" }), 1)!;
    expect(relayed).toMatchObject({ type: "NAK", destinationIp: "10.0.2.254", destinationPort: 67, broadcast: false });
    expect(relayed.bytes[10]).toBe(0x80);
  });

  it("SELECTING another server: no reply, and the offer's address goes back to the pool", () => {
    const s = createDhcpServer({ ...CONFIG, pool: "10.0.2.15-10.0.2.15" });
    expect(s.handle(client({ type: DISCOVER }), 0)!.type).toBe("OFFER");
    expect(s.handle(client({ type: REQUEST, serverId: "10.0.2.9", requestedIp: "10.0.2.15" }), 1)).toBeNull();
    expect(s.leases(1)).toEqual([]);
    expect(yiaddr(lease(s, 2, { mac: MAC_B }))).toBe("10.0.2.15");
  });

  it("DECLINE keeps the address out of use for declineHoldMs, then returns it", () => {
    const s = createDhcpServer({ ...CONFIG, pool: "10.0.2.15-10.0.2.16", declineHoldMs: 10 * MINUTE });
    lease(s, 0);
    expect(s.handle(client({ type: DECLINE, serverId: SERVER, requestedIp: "10.0.2.15" }), 1)).toBeNull();
    expect(s.counters.declines).toBe(1);
    expect(s.leases(1)).toMatchObject([{ address: "10.0.2.15", state: "declined", clientId: null }]);
    // The declining client is offered another address; so is the next one, and the pool is then spent.
    expect(yiaddr(lease(s, 2))).toBe("10.0.2.16");
    expect(s.handle(client({ type: DISCOVER, mac: MAC_B }), 3)).toBeNull();
    expect(s.counters.poolExhausted).toBe(1);
    expect(yiaddr(lease(s, 10 * MINUTE + 1, { mac: MAC_B }))).toBe("10.0.2.15");
  });

  it("RELEASE frees the address; the client gets it back, a newcomer gets an address nobody held", () => {
    const s = createDhcpServer(CONFIG);
    lease(s, 0);
    expect(s.handle(client({ type: RELEASE, ciaddr: "10.0.2.15", serverId: SERVER }), 1)).toBeNull();
    expect(s.counters.releases).toBe(1);
    expect(s.leases(1)).toEqual([]);
    expect(yiaddr(lease(s, 2, { mac: MAC_B }))).toBe("10.0.2.16");
    expect(yiaddr(lease(s, 3))).toBe("10.0.2.15");
    // A RELEASE of someone else's address changes nothing.
    expect(s.handle(client({ type: RELEASE, mac: MAC_C, ciaddr: "10.0.2.15" }), 4)).toBeNull();
    expect(s.leases(4).map((l) => l.address).sort()).toEqual(["10.0.2.15", "10.0.2.16"]);
  });

  it("INFORM: an ACK to ciaddr with the configuration, no yiaddr and no lease time (RFC 2131 4.3.5)", () => {
    const s = createDhcpServer(CONFIG);
    const ack = s.handle(client({ type: INFORM, ciaddr: "10.0.2.200" }), 0)!;
    expect(ack).toMatchObject({ type: "ACK", destinationIp: "10.0.2.200", broadcast: false });
    expect(yiaddr(ack)).toBe("0.0.0.0");
    expect(option(ack, 51)).toBeUndefined();
    expect(option(ack, 58)).toBeUndefined();
    expect(option(ack, 1)).toEqual(Uint8Array.of(255, 255, 255, 0));
    expect(option(ack, 6)).toEqual(Uint8Array.of(10, 0, 2, 3));
    expect(s.leases(0)).toEqual([]);
  });

  it("leases expire: expire(now) frees them, and the client's next DISCOVER is offered the same address", () => {
    const s = createDhcpServer({ ...CONFIG, leaseTimeSeconds: 600 });
    lease(s, 0);
    const ack = lease(s, 0, { mac: MAC_B });
    expect(option(ack, 51)).toEqual(Uint8Array.of(0, 0, 2, 88));
    expect(option(ack, 58)).toEqual(Uint8Array.of(0, 0, 1, 44));
    expect(option(ack, 59)).toEqual(Uint8Array.of(0, 0, 0x02, 0x0d));
    s.expire(600_000 - 1);
    expect(s.leases(600_000 - 1)).toHaveLength(2);
    s.expire(600_000);
    expect(s.leases(600_000)).toEqual([]);
    expect(yiaddr(s.handle(client({ type: DISCOVER, mac: MAC_B }), 700_000)!)).toBe("10.0.2.16");
  });

  it("prefers the client's previous lease, then the address it asks for (option 50), then any free one", () => {
    const s = createDhcpServer(CONFIG);
    lease(s, 0);
    s.expire(2 * HOUR);
    expect(yiaddr(s.handle(client({ type: DISCOVER, requestedIp: "10.0.2.50" }), 2 * HOUR)!)).toBe("10.0.2.15");
    expect(yiaddr(s.handle(client({ type: DISCOVER, mac: MAC_B, requestedIp: "10.0.2.50" }), 2 * HOUR)!)).toBe("10.0.2.50");
    // The address another client was offered is not handed out while the offer holds.
    expect(yiaddr(s.handle(client({ type: DISCOVER, mac: MAC_C, requestedIp: "10.0.2.50" }), 2 * HOUR)!)).not.toBe("10.0.2.50");
    // A long client identifier (option 61) names the client instead of chaddr.
    const id = Array.from({ length: 20 }, (_, i) => i);
    const first = yiaddr(lease(s, 3 * HOUR, { clientId: id, mac: MAC_A }));
    expect(yiaddr(s.handle(client({ type: DISCOVER, clientId: id, mac: MAC_C }), 3 * HOUR)!)).toBe(first);
  });

  it("keeps a reply within the client's maximum message size (option 57), options it asked for first", () => {
    const many = Array.from({ length: 63 }, (_, i) => `10.0.2.${100 + i}`);
    const s = createDhcpServer({ ...CONFIG, routers: many, dnsServers: many, domainName: "d".repeat(255) });
    // Asks for DNS servers (6) and the MTU (26) and takes at most 576 octets of IP datagram.
    const offer = s.handle(client({ type: DISCOVER, options: [55, 2, 6, 26, 57, 2, 0x02, 0x40] }), 0)!;
    expect(offer.bytes.length).toBeLessThanOrEqual(576 - 28);
    expect(option(offer, 53)).toEqual(Uint8Array.of(2));
    expect(option(offer, 54)).toEqual(Uint8Array.of(10, 0, 2, 2));
    expect(option(offer, 51)).toBeDefined();
    expect(option(offer, 6)).toHaveLength(4 * 63);
    expect(option(offer, 26)).toEqual(Uint8Array.of(0x05, 0xdc));
    expect(option(offer, 15)).toBeUndefined();
    // A client that takes 1,500 octets gets everything.
    const large = s.handle(client({ type: DISCOVER, mac: MAC_B, options: [57, 2, 0x05, 0xdc] }), 0)!;
    expect(option(large, 3)).toHaveLength(4 * 63);
    expect(option(large, 15)).toHaveLength(255);
  });

  it("pool exhaustion: no OFFER when every address is leased, counted", () => {
    const s = createDhcpServer({ ...CONFIG, pool: "10.0.2.15-10.0.2.16" });
    lease(s, 0);
    lease(s, 0, { mac: MAC_B });
    expect(s.handle(client({ type: DISCOVER, mac: MAC_C }), 1)).toBeNull();
    expect(s.counters.poolExhausted).toBe(1);
  });

  it("an offer holds its address for offerHoldMs; after that the address can go to another client", () => {
    const s = createDhcpServer({ ...CONFIG, pool: "10.0.2.15-10.0.2.16", offerHoldMs: 30_000 });
    s.handle(client({ type: DISCOVER }), 0);
    s.handle(client({ type: DISCOVER, mac: MAC_B }), 0);
    expect(s.leases(29_999).map((l) => l.state)).toEqual(["offered", "offered"]);
    expect(s.leases(30_000)).toEqual([]);
    lease(s, 30_000, { mac: MAC_C });
    lease(s, 30_000, { mac: [2, 0, 0, 0, 0, 9] });
    // The first client's late REQUEST finds its address taken.
    expect(s.handle(client({ type: REQUEST, serverId: SERVER, requestedIp: "10.0.2.15" }), 30_001)!.type).toBe("NAK");
  });
});

describe("malformed messages", () => {
  const valid = client({ type: DISCOVER });
  const cases: [string, Uint8Array][] = [
    ["truncated", valid.subarray(0, 239)],
    ["not-request", Uint8Array.from(valid, (x, i) => (i === 0 ? 2 : x))],
    ["bad-hardware", Uint8Array.from(valid, (x, i) => (i === 2 ? 16 : x))],
    ["bad-cookie", Uint8Array.from(valid, (x, i) => (i === 239 ? 0 : x))],
    ["option-overrun", client({ type: DISCOVER, options: [12, 40, 65], end: false })],
    ["bad-option-length", client({ type: DISCOVER, options: [57, 1, 2] })],
    ["duplicate-option", client({ type: DISCOVER, options: [53, 1, 3] })],
    ["overload", client({ type: DISCOVER, options: [52, 1, 3] })],
    ["missing-type", Uint8Array.from(valid, (x, i) => (i === 240 ? 0 : i === 241 ? 0 : i === 242 ? 0 : x))],
    ["bad-type", client({ type: 2 })],
    ["bad-request", client({ type: REQUEST })],
  ];
  it.each(cases)("refuses %s, counted by reason, no reply", (reason, bytes) => {
    const s = createDhcpServer(CONFIG);
    expect(s.handle(bytes, 0)).toBeNull();
    const counters = s.counters;
    expect(counters.received).toBe(1);
    expect(counters.malformed[reason as keyof typeof counters.malformed]).toBe(1);
    expect(Object.values(counters.malformed).reduce((a, b) => a + b)).toBe(1);
  });

  it("fuzz: 1,000,000 mutated and random messages, no throw, each counted once", () => {
    const s = createDhcpServer(CONFIG);
    const prng = new Prng(11);
    const seeds = [hex(DHCP_FRAMES.discover), hex(DHCP_FRAMES.request), client({ type: REQUEST, ciaddr: "10.0.2.15" }), client({ type: INFORM, ciaddr: "10.0.2.7" })];
    let replies = 0;
    for (let n = 0; n < 1_000_000; n++) {
      let b: Uint8Array;
      if (n % 10 === 0) b = prng.fill(new Uint8Array(prng.nextInt(600)));
      else {
        const seed = seeds[n % seeds.length]!;
        b = seed.slice(0, prng.chance(0.3) ? prng.nextInt(seed.length + 1) : seed.length);
        // Flips land mostly in the options, where the parser has the most to get wrong.
        for (let k = 1 + prng.nextInt(4); k > 0 && b.length; k--) {
          const at = prng.chance(0.8) && b.length > 240 ? 236 + prng.nextInt(b.length - 236) : prng.nextInt(b.length);
          b[at] = prng.nextU32() & 0xff;
        }
      }
      if (s.handle(b, n) !== null) replies++;
    }
    const c = s.counters;
    const malformed = Object.values(c.malformed).reduce((a, x) => a + x);
    expect(c.received).toBe(1_000_000);
    expect(replies).toBe(c.offers + c.acks + c.naks);
    expect(malformed + c.offers + c.acks + c.naks + c.declines + c.releases + c.ignored + c.poolExhausted).toBe(1_000_000);
    expect(malformed).toBeGreaterThan(100_000);
  });
});

describe("bounded state", () => {
  it("a flood of 1,000,000 DISCOVERs from random MACs: offers capped, state fixed at <= 64 bytes per pool address, a real client still served", () => {
    const s = createDhcpServer({ ...CONFIG, pool: "10.0.2.0/24", subnet: undefined });
    const before = s.stateBytes;
    const perAddress = before / s.poolSize;
    expect(s.poolSize).toBe(254);
    expect(perAddress).toBeLessThanOrEqual(64);
    const prng = new Prng(7);
    const flood = client({ type: DISCOVER });
    const xid = new DataView(flood.buffer);
    const flooding = (from: number, count: number): void => {
      for (let n = 0; n < count; n++) {
        prng.fill(flood.subarray(28, 34));
        xid.setUint32(4, from + n);
        s.handle(flood, from + n);
      }
    };
    flooding(0, 1_000_000);
    expect(s.counters.offers).toBe(1_000_000);
    expect(s.leases(1_000_000).length).toBeLessThanOrEqual(256);
    expect(s.stateBytes).toBe(before);
    // A real client between bursts: its DISCOVER, 100 more flood messages, its REQUEST.
    const offer = s.handle(client({ type: DISCOVER, mac: MAC_A, xid: 1 }), 1_000_000)!;
    expect(offer.type).toBe("OFFER");
    flooding(1_000_001, 100);
    const ack = s.handle(client({ type: REQUEST, mac: MAC_A, xid: 1, serverId: SERVER, requestedIp: yiaddr(offer) }), 1_000_200)!;
    expect(ack.type).toBe("ACK");
    expect(yiaddr(ack)).toBe(yiaddr(offer));
    console.log(`dhcp pool state: ${before} bytes for ${s.poolSize} addresses = ${perAddress.toFixed(1)} bytes per address`);
  });

  it("a flood against a nearly full pool leaves every lease alone and recycles the one free address", () => {
    const s = createDhcpServer({ ...CONFIG, pool: "10.0.0.0/20", subnet: undefined, serverAddress: "10.0.0.1" });
    const mac = (n: number): number[] => [2, 0, 0, 0, n >> 8, n & 0xff];
    const leased = s.poolSize - 2;
    for (let n = 0; n < leased; n++) {
      const offer = s.handle(client({ type: DISCOVER, mac: mac(n) }), 0)!;
      s.handle(client({ type: REQUEST, mac: mac(n), serverId: "10.0.0.1", requestedIp: yiaddr(offer) }), 0);
    }
    expect(s.counters.acks).toBe(leased);
    const prng = new Prng(3);
    const flood = client({ type: DISCOVER });
    const offered = new Set<string>();
    for (let n = 0; n < 100_000; n++) {
      prng.fill(flood.subarray(28, 34));
      flood[28] = 0x0e;
      offered.add(yiaddr(s.handle(flood, n)!));
    }
    expect([...offered]).toEqual(["10.0.15.254"]);
    expect(s.leases(100_000).filter((l) => l.state === "leased")).toHaveLength(leased);
    // A returning client renews untouched, and a new one gets the address the flood was cycling.
    expect(s.handle(client({ type: REQUEST, mac: mac(7), ciaddr: "10.0.0.9" }), 100_000)!.type).toBe("ACK");
    const offer = s.handle(client({ type: DISCOVER, mac: MAC_A }), 100_001)!;
    expect(yiaddr(offer)).toBe("10.0.15.254");
    expect(s.handle(client({ type: REQUEST, mac: MAC_A, serverId: "10.0.0.1", requestedIp: "10.0.15.254" }), 100_001)!.type).toBe("ACK");
  });
});

describe("options", () => {
  it("refuses bad options with Node-style codes", () => {
    expect(thrownCode(() => createDhcpServer(undefined as never))).toBe("ERR_INVALID_ARG_TYPE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, serverAddress: 5 as never }))).toBe("ERR_INVALID_ARG_TYPE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, serverAddress: "nope" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, pool: "10.0.2.99-10.0.2.15" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, pool: "10.0.3.1-10.0.3.9" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDhcpServer({ serverAddress: SERVER, pool: "10.0.2.15-10.0.2.99" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, pool: "10.0.0.0/8", subnet: undefined }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, mtu: 40 }))).toBe("ERR_OUT_OF_RANGE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, leaseTimeSeconds: 1.5 }))).toBe("ERR_OUT_OF_RANGE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, rebindingTimeSeconds: 10 }))).toBe("ERR_OUT_OF_RANGE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, dnsServers: ["10.0.2.3", "x"] }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, domainName: "a b" }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrownCode(() => createDhcpServer({ ...CONFIG, leaseTime: 5 } as never))).toBe("ERR_INVALID_ARG_VALUE");
    const s = createDhcpServer(CONFIG);
    expect(thrownCode(() => s.handle([1, 2] as never, 0))).toBe("ERR_INVALID_ARG_TYPE");
    expect(thrownCode(() => s.handle(new Uint8Array(0), Number.NaN))).toBe("ERR_OUT_OF_RANGE");
    expect(thrownCode(() => s.expire("now" as never))).toBe("ERR_INVALID_ARG_TYPE");
  });

  it("leaves the subnet's network and all-ones addresses out of a range", () => {
    const s = createDhcpServer({ ...CONFIG, pool: "10.0.2.255-10.0.3.0", subnet: "10.0.2.0/23" });
    expect(s.handle(client({ type: DISCOVER }), 0)).not.toBeNull();
    const edges = createDhcpServer({ ...CONFIG, pool: "10.0.2.0-10.0.2.1", serverAddress: "10.0.2.1" });
    expect(edges.handle(client({ type: DISCOVER }), 0)).toBeNull();
    expect(edges.counters.poolExhausted).toBe(1);
  });

  it("leaves the server's own and reserved addresses out of the pool", () => {
    const s = createDhcpServer({ ...CONFIG, pool: "10.0.2.2-10.0.2.4", reserved: ["10.0.2.3"] });
    expect(yiaddr(lease(s, 0))).toBe("10.0.2.4");
    expect(s.handle(client({ type: DISCOVER, mac: MAC_B }), 0)).toBeNull();
    expect(s.leases(0)).toHaveLength(1);
  });
});

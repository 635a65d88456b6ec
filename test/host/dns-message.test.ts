// DNS messages (src/net/dns-message.ts): scapy's messages parsed and rebuilt octet for octet, name
// compression, the refusals of hostile input (pointer loops, forward pointers, reserved label types,
// over-long names, cut messages), truncation at a record boundary with TC, TCP framing, and 1,000,000
// mutated messages that must neither throw nor hang.
import { describe, expect, it } from "vitest";
import { TcpwasmError } from "../../src/core/errors.js";
import { Prng } from "../../src/core/prng.js";
import { canonicalName, DnsType, encodeDnsMessage, optRecord, parseDnsMessage, sameName, type DnsMessage, type DnsRecord } from "../../src/net/dns-message.js";
import { DnsTcpReader, frameDnsTcp } from "../../src/net/dns-tcp.js";
import { DNS_MESSAGES } from "../fixtures/dns-messages.js";

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function parsed(bytes: Uint8Array): DnsMessage {
  const r = parseDnsMessage(bytes);
  if (!r.ok) throw new Error(`refused: ${r.reason}`);
  return r.message;
}

function refusal(bytes: Uint8Array): string {
  const r = parseDnsMessage(bytes);
  return r.ok ? "accepted" : r.reason;
}

/** A header with the given counts, then `body`. */
function message(body: number[], counts = [1, 0, 0, 0], flags = 0x0100): Uint8Array {
  return Uint8Array.from([0xab, 0xcd, flags >> 8, flags & 0xff, ...counts.flatMap((c) => [c >> 8, c & 0xff]), ...body]);
}

describe("scapy's messages", () => {
  it("parses dig's query with its OPT record", () => {
    const m = parsed(hex(DNS_MESSAGES.queryA));
    expect(m).toMatchObject({ id: 0x1234, qr: false, opcode: 0, rd: true, tc: false, rcode: 0 });
    expect(m.questions).toEqual([{ name: "example.test", type: DnsType.A, class: 1 }]);
    expect(m.additionals).toHaveLength(1);
    expect(m.additionals[0]).toMatchObject({ name: "", type: DnsType.OPT, class: 1232, ttl: 0x8000 });
  });

  it("parses compressed answers: A, CNAME chain, AAAA, PTR", () => {
    const a = parsed(hex(DNS_MESSAGES.answerA));
    expect(a).toMatchObject({ qr: true, ra: true, rd: true });
    expect(a.answers.map((r) => [r.name, r.type, r.ttl, r.data])).toEqual([
      ["example.test", 1, 60, "192.0.2.1"],
      ["example.test", 1, 30, "192.0.2.2"],
    ]);
    const c = parsed(hex(DNS_MESSAGES.answerCname));
    expect(c.answers.map((r) => [r.name, r.type, r.data])).toEqual([
      ["www.example.test", DnsType.CNAME, "example.test"],
      ["example.test", DnsType.A, "192.0.2.1"],
    ]);
    expect(parsed(hex(DNS_MESSAGES.answerAaaa)).answers[0]).toMatchObject({ type: 28, data: "2001:db8::1", ttl: 120 });
    const p = parsed(hex(DNS_MESSAGES.answerPtr));
    expect(p.aa).toBe(true);
    expect(p.answers[0]).toMatchObject({ name: "2.2.0.10.in-addr.arpa", type: DnsType.PTR, data: "gateway.test" });
  });

  it("keeps an SOA's data opaque and reads NXDOMAIN", () => {
    const m = parsed(hex(DNS_MESSAGES.nxdomainSoa));
    expect(m.rcode).toBe(3);
    expect(m.authorities[0]).toMatchObject({ name: "example.test", type: DnsType.SOA, ttl: 900 });
    expect(m.authorities[0].data).toBeInstanceOf(Uint8Array);
  });

  it("rebuilds them octet for octet, compressing as scapy's dns_compress does", () => {
    for (const key of ["queryA", "queryAaaaNoEdns", "queryPtr", "answerA", "answerCname", "answerAaaa", "answerPtr"] as const) {
      expect(toHex(encodeDnsMessage(parsed(hex(DNS_MESSAGES[key])))), key).toBe(DNS_MESSAGES[key]);
    }
  });

  it("compresses what scapy left uncompressed, to the same message", () => {
    for (const key of ["answerUncompressed", "nxdomainSoa"] as const) {
      const original = hex(DNS_MESSAGES[key]);
      const rebuilt = encodeDnsMessage(parsed(original));
      expect(rebuilt.length).toBeLessThan(original.length);
      expect(parsed(rebuilt)).toEqual(parsed(original));
    }
    // The answer's owner name is a pointer to the question's (offset 12).
    expect(toHex(encodeDnsMessage(parsed(hex(DNS_MESSAGES.answerUncompressed))))).toContain("c00c00010001");
  });
});

describe("hostile names", () => {
  it("refuses a pointer to itself as a loop", () => {
    expect(refusal(message([0xc0, 12, 0, 1, 0, 1]))).toBe("pointer-loop");
  });

  it("refuses a two-pointer loop at its forward pointer", () => {
    // Question name at 12 points to 14, which points back to 12.
    expect(refusal(message([0xc0, 14, 0xc0, 12, 0, 1, 0, 1]))).toBe("forward-pointer");
    // A record whose owner points past itself into its own fixed fields.
    expect(refusal(message([0, 0, 1, 0, 1, 0xc0, 20, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0]))).toBe("forward-pointer");
  });

  it("bounds chains of backward pointers", () => {
    // An opaque record (type 99) at 17 holds a root at 28 and then `n` pointers, each to the one
    // before; a second record's owner name points at the last, so it takes n + 1 hops.
    const chained = (n: number): Uint8Array => {
      const chain = [0];
      for (let k = 1; k <= n; k++) {
        const to = k === 1 ? 28 : 29 + 2 * (k - 2);
        chain.push(0xc0 | (to >> 8), to & 0xff);
      }
      const last = 29 + 2 * (n - 1);
      const first = [0, 0, 99, 0, 1, 0, 0, 0, 0, chain.length >> 8, chain.length & 0xff, ...chain];
      const second = [0xc0 | (last >> 8), last & 0xff, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4];
      return message([0, 0, 1, 0, 1, ...first, ...second], [1, 2, 0, 0]);
    };
    expect(refusal(chained(100))).toBe("accepted");
    expect(parsed(chained(100)).answers[1].name).toBe("");
    expect(refusal(chained(127))).toBe("pointer-hops");
    expect(refusal(chained(126))).toBe("accepted");
    expect(refusal(chained(1000))).toBe("pointer-hops");
  });

  it("refuses the reserved label types 01 and 10", () => {
    expect(refusal(message([0x40, 0, 1, 0, 1]))).toBe("label-type");
    expect(refusal(message([0x81, 0x61, 0, 0, 1, 0, 1]))).toBe("label-type");
  });

  it("refuses names over 255 octets and accepts 255", () => {
    const label = (n: number) => [n, ...new Array(n).fill(0x61)];
    // 4 labels of 63 (256 octets) + root = 257.
    expect(refusal(message([...label(63), ...label(63), ...label(63), ...label(63), 0, 0, 1, 0, 1]))).toBe("name-too-long");
    // 3 of 63 and one of 61 + root: 255 exactly.
    const ok = parsed(message([...label(63), ...label(63), ...label(63), ...label(61), 0, 0, 1, 0, 1]));
    expect(ok.questions[0].name).toHaveLength(63 * 3 + 61 + 3);
    // Compression cannot make a name longer: a suffix of 200 octets twice behind pointers.
    const long = [...label(63), ...label(63), ...label(63), ...label(61), 0, 0, 1, 0, 1];
    const twice = message([...long, ...label(63), 0xc0, 12, 0, 1, 0, 1], [2, 0, 0, 0]);
    expect(refusal(twice)).toBe("name-too-long");
  });

  it("refuses messages cut anywhere, and counts beyond the data", () => {
    const whole = hex(DNS_MESSAGES.answerCname);
    expect(refusal(whole.subarray(0, 11))).toBe("short-header");
    for (let n = 12; n < whole.length; n++) {
      const r = parseDnsMessage(whole.subarray(0, n));
      expect(r.ok, `cut at ${n}`).toBe(false);
      expect(["truncated", "rdata-name"], `cut at ${n}`).toContain(r.ok ? "" : r.reason);
      expect(r.ok ? 0 : r.id).toBe(0x1234);
    }
    const more = whole.slice();
    more[7] = 200; // 200 answers claimed, 2 present
    expect(refusal(more)).toBe("truncated");
    const huge = message([], [0xffff, 0xffff, 0xffff, 0xffff]);
    expect(refusal(huge)).toBe("truncated");
  });

  it("refuses bad address lengths, names overrunning their RDATA, and trailing octets", () => {
    const a = (rdata: number[]) => message([0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, rdata.length, ...rdata], [1, 1, 0, 0]);
    expect(refusal(a([1, 2, 3, 4]))).toBe("accepted");
    expect(refusal(a([1, 2, 3, 4, 5]))).toBe("rdata-length");
    expect(refusal(a([1, 2, 3]))).toBe("rdata-length");
    // A CNAME whose RDLENGTH (2) ends inside its name (a 3-octet label).
    const cname = message([0, 0, 1, 0, 1, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 3, 0x61, 0x62, 0x63, 0], [1, 1, 0, 0]);
    expect(refusal(cname)).not.toBe("accepted");
    const trailing = hex(DNS_MESSAGES.answerA + "00");
    expect(refusal(trailing)).toBe("trailing-bytes");
  });
});

describe("names as text", () => {
  it("escapes dots, backslashes and unprintable octets, and builds them back", () => {
    const m = message([3, 0x61, 0x2e, 0x62, 2, 0x5c, 0x00, 1, 0x20, 0, 0, 1, 0, 1]);
    const q = parsed(m).questions[0];
    expect(q.name).toBe("a\\.b.\\\\\\000.\\032");
    expect(toHex(encodeDnsMessage(parsed(m)))).toBe(toHex(m));
  });

  it("compares names without regard to case or spelling (RFC 4343)", () => {
    expect(sameName("Example.TEST.", "example.test")).toBe(true);
    expect(sameName("\\065.test", "a.test")).toBe(true);
    expect(sameName("a\\.b", "a.b")).toBe(false);
    // A trailing "\\." is a dot inside the label; "\\\\." is a backslash, then the root.
    expect(canonicalName("a\\.")).toBe("a\\.");
    expect(canonicalName("A\\\\.")).toBe("a\\\\");
    expect(encodeDnsMessage({ questions: [{ name: "a\\\\.", type: 1, class: 1 }] }).subarray(12, 16)).toEqual(Uint8Array.of(2, 0x61, 0x5c, 0));
  });

  it("throws ERR_INVALID_ARG_VALUE for names that cannot be built", () => {
    const build = (name: string) => () => encodeDnsMessage({ questions: [{ name, type: 1, class: 1 }] });
    for (const bad of ["a..b", ".a", "a".repeat(64), `${"a".repeat(63)}.`.repeat(4) + "a", "caf\u00e9.test", "a\\"]) {
      expect(build(bad), bad).toThrow(TcpwasmError);
      try {
        build(bad)();
      } catch (e) {
        expect((e as TcpwasmError).code).toBe("ERR_INVALID_ARG_VALUE");
        expect((e as Error).message).toContain("message.questions[0].name");
      }
    }
    expect(build("example.test.")).not.toThrow();
    expect(() => encodeDnsMessage({ answers: [{ name: "a", type: 1, class: 1, ttl: 1, data: "::1" }] })).toThrow(/IPv4/);
  });
});

describe("truncation (RFC 1035 4.2.1, RFC 2181 9)", () => {
  const name = "a-rather-long-name-to-fill-the-packet.example.test";
  const answers: DnsRecord[] = Array.from({ length: 60 }, (_, i) => ({ name, type: DnsType.AAAA, class: 1, ttl: 60, data: `2001:db8::${i + 1}` }));
  const response: Partial<DnsMessage> = { id: 9, qr: true, rd: true, ra: true, questions: [{ name, type: DnsType.AAAA, class: 1 }], answers };

  it("cuts the answer section at a record boundary and sets TC", () => {
    const full = encodeDnsMessage(response);
    expect(full.length).toBeGreaterThan(512);
    const cut = encodeDnsMessage(response, { maxSize: 512 });
    expect(cut.length).toBeLessThanOrEqual(512);
    const m = parsed(cut);
    expect(m.tc).toBe(true);
    // Each compressed AAAA record is 2 + 10 + 16 = 28 octets after the question.
    const question = 12 + name.length + 2 + 4;
    expect(m.answers).toHaveLength(Math.floor((512 - question) / 28));
    expect(cut.length).toBe(question + 28 * m.answers.length);
    expect(m.answers).toEqual(answers.slice(0, m.answers.length));
    expect(parsed(full).tc).toBe(false);
  });

  it("keeps the OPT record and uses the EDNS0 size", () => {
    const withOpt = { ...response, additionals: [optRecord(1232)] };
    const cut = parsed(encodeDnsMessage(withOpt, { maxSize: 1232 }));
    expect(cut.tc).toBe(true);
    expect(cut.additionals).toEqual([optRecord(1232)]);
    expect(encodeDnsMessage(withOpt, { maxSize: 1232 }).length).toBeLessThanOrEqual(1232);
    expect(cut.answers.length).toBeGreaterThan(30);
  });

  it("drops additional records that do not fit without TC", () => {
    const extra = answers.slice(0, 40);
    const m = parsed(encodeDnsMessage({ ...response, answers: answers.slice(0, 2), additionals: extra }, { maxSize: 512 }));
    expect(m.tc).toBe(false);
    expect(m.answers).toHaveLength(2);
    expect(m.additionals.length).toBeGreaterThan(0);
    expect(m.additionals.length).toBeLessThan(40);
  });
});

describe("TCP framing (RFC 7766 8)", () => {
  it("frames and splits messages across arbitrary chunks", () => {
    const a = hex(DNS_MESSAGES.answerA);
    const b = hex(DNS_MESSAGES.answerCname);
    const stream = new Uint8Array([...frameDnsTcp(a), ...frameDnsTcp(b)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new DnsTcpReader();
      const got = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(got.map(toHex)).toEqual([toHex(a), toHex(b)]);
      expect(reader.pending).toBe(0);
    }
    const r = new DnsTcpReader();
    expect(r.push(Uint8Array.of(0))).toEqual([]);
    expect(r.pending).toBe(1);
  });
});

describe("fuzz", () => {
  it("1,000,000 mutated and random messages: no throw, and what parses rebuilds to the same message", () => {
    const prng = new Prng(0xd115);
    const seeds = Object.values(DNS_MESSAGES).map(hex);
    let accepted = 0;
    const reasons = new Map<string, number>();
    for (let i = 0; i < 1_000_000; i++) {
      let bytes: Uint8Array;
      const kind = prng.nextInt(4);
      if (kind === 0) {
        bytes = prng.fill(new Uint8Array(prng.nextInt(80)));
      } else {
        bytes = seeds[prng.nextInt(seeds.length)].slice();
        const flips = 1 + prng.nextInt(4);
        for (let f = 0; f < flips; f++) {
          const at = prng.nextInt(bytes.length);
          // Favour the octets that steer parsing: label lengths, pointers, counts.
          bytes[at] = kind === 1 ? bytes[at] ^ (1 << prng.nextInt(8)) : kind === 2 ? [0xc0, 0x40, 0x80, 0x3f, 0, 0xff][prng.nextInt(6)] : prng.nextU32() & 0xff;
        }
        if (prng.chance(0.2)) bytes = bytes.subarray(0, prng.nextInt(bytes.length + 1));
      }
      const r = parseDnsMessage(bytes);
      if (r.ok) {
        accepted++;
        const again = parseDnsMessage(encodeDnsMessage(r.message));
        expect(again.ok && again.message).toEqual(r.message);
      } else {
        reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
      }
    }
    expect(accepted).toBeGreaterThan(1000);
    for (const reason of ["truncated", "forward-pointer", "label-type", "trailing-bytes", "short-header"]) expect(reasons.get(reason), reason).toBeGreaterThan(0);
  });
});

// A DNS responder a gateway runs for its guests: A and AAAA for its own names and, through a function
// the user supplies (Node's dns.promises, a DNS-over-HTTPS fetch), for every other name; PTR for its
// own addresses. Sans-I/O: it turns a query's octets into a response's octets and owns no socket, so
// the same responder answers over UDP (with truncation) and over TCP (RFC 7766, without).
import { parseAddress } from "../core/address.js";
import { invalidValue, optionsObject, validateArray, validateBoolean, validateFunction, validateInteger, validateKnownKeys, validateObject, validateString, validateUint8Array } from "../core/validate.js";
import { canonicalName, DNS_CLASS_IN, DNS_UDP_LIMIT, DnsRcode, DnsType, ednsUdpSize, encodeDnsMessage, nameLabels, optRecord, parseDnsMessage, type DnsMessage } from "./dns-message.js";

/** An address a lookup found, as text, optionally with its own TTL in seconds. */
export type DnsLookupAddress = string | { address: string; ttl?: number };

/**
 * Resolves a name the responder does not own. Resolve to the addresses (an empty array: the name
 * exists without addresses of this family, NODATA), or null: no such name (NXDOMAIN). A rejection is
 * answered SERVFAIL. Addresses of the other family or not addresses at all are left out. The responder
 * sets no deadline of its own: a lookup that may hang should bound itself (AbortSignal.timeout).
 */
export type DnsLookup = (name: string, type: "A" | "AAAA") => Promise<readonly DnsLookupAddress[] | null>;

/** Options of createDnsResponder. */
export interface DnsResponderOptions {
  /** Resolves names that are not in `names`. Default: none, every other name is NXDOMAIN. */
  lookup?: DnsLookup;
  /**
   * The responder's own names and their IPv4 and IPv6 addresses ("gateway.test": ["10.0.2.2",
   * "fd00::2"]). They are answered authoritatively (AA set), and PTR queries for their addresses
   * (in-addr.arpa, ip6.arpa: RFC 1035 3.5, RFC 3596 2.5) give the name. Default: none.
   */
  names?: Record<string, string | readonly string[]>;
  /** TTL in seconds of the records it answers with (RFC 2181 8: 0..2^31-1). Default 60. */
  ttl?: number;
  /**
   * The largest UDP response it sends to an EDNS0 requestor whatever size the requestor advertises
   * (RFC 6891 6.2.5), in octets, 512..65535; also the payload size its own OPT record advertises.
   * Default 1232 (fits a 1280-octet IPv6 path).
   */
  maxUdp?: number;
}

/** Per-query options of DnsResponder.handle. */
export interface DnsHandleOptions {
  /**
   * The query came over TCP (RFC 7766): no size limit, no TC. The octets are the message without the
   * two-octet length (frameDnsTcp adds it to the answer). Default false (UDP).
   */
  tcp?: boolean;
  /** A lower UDP limit for this query (a path MTU), octets 512..65535. Default: the responder's maxUdp. */
  maxUdp?: number;
}

/** A DNS responder (createDnsResponder). */
export interface DnsResponder {
  /**
   * Answers one query's octets with the response's octets, or null when nothing should be sent: fewer
   * than 12 octets, or a message that is itself a response (QR set), which must never draw an answer.
   * Never rejects: malformed queries are FORMERR, opcodes other than QUERY are NOTIMP (RFC 1035 4.1.1),
   * a lookup that throws is SERVFAIL.
   */
  handle(query: Uint8Array, options?: DnsHandleOptions): Promise<Uint8Array | null>;
  /** What it has seen and answered since it was created (a live object). */
  readonly counters: DnsResponderCounters;
}

/** A responder's counts of queries and of its answers by kind. */
export interface DnsResponderCounters {
  /** Messages handed to handle(). */
  queries: number;
  /** Messages that drew no answer: under 12 octets, or responses (QR set). */
  dropped: number;
  /** Answers with NOERROR (addresses, or NODATA). */
  noerror: number;
  /** Malformed queries answered FORMERR (a DnsRefusal from the parser, or not one question). */
  formerr: number;
  /** Lookups that threw, answered SERVFAIL. */
  servfail: number;
  /** Names that do not exist, answered NXDOMAIN. */
  nxdomain: number;
  /** Opcodes other than QUERY, answered NOTIMP. */
  notimp: number;
  /** Classes other than IN, answered REFUSED. */
  refused: number;
  /** EDNS versions other than 0, answered BADVERS. */
  badvers: number;
  /** UDP answers cut to fit, TC set. */
  truncated: number;
}

const KNOWN = new Set(["lookup", "names", "ttl", "maxUdp"]);
const KNOWN_HANDLE = new Set(["tcp", "maxUdp"]);

/** The reverse-mapping name of an address: in-addr.arpa (RFC 1035 3.5) or ip6.arpa nibbles (RFC 3596 2.5). */
export function reverseName(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[3]}.${bytes[2]}.${bytes[1]}.${bytes[0]}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = bytes.length - 1; i >= 0; i--) nibbles.push((bytes[i] & 0xf).toString(16), (bytes[i] >> 4).toString(16));
  return `${nibbles.join(".")}.ip6.arpa`;
}

interface OwnName {
  name: string;
  v4: string[];
  v6: string[];
}

/** Creates a responder; throws a TcpwasmError (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE) for bad options. */
export function createDnsResponder(options?: DnsResponderOptions): DnsResponder {
  const opts = optionsObject(options, "options");
  validateKnownKeys(opts as Record<string, unknown>, "options", KNOWN);
  if (opts.lookup !== undefined) validateFunction(opts.lookup, "options.lookup");
  if (opts.ttl !== undefined) validateInteger(opts.ttl, "options.ttl", 0, 0x7fff_ffff);
  if (opts.maxUdp !== undefined) validateInteger(opts.maxUdp, "options.maxUdp", DNS_UDP_LIMIT, 0xffff);
  const own = new Map<string, OwnName>();
  const reverse = new Map<string, string>();
  if (opts.names !== undefined) {
    validateObject(opts.names, "options.names");
    for (const [name, value] of Object.entries(opts.names)) {
      const what = `options.names.${name}`;
      if (nameLabels(name) === null) invalidValue(what, name, "must be keyed by a domain name");
      const list: unknown[] = typeof value === "string" ? [value] : (validateArray(value, what), value);
      const entry: OwnName = { name, v4: [], v6: [] };
      list.forEach((text, i) => {
        validateString(text, `${what}[${i}]`);
        const address = parseAddress(text) ?? invalidValue(`${what}[${i}]`, text, "must be an IPv4 or IPv6 address");
        (address.version === 4 ? entry.v4 : entry.v6).push(text);
        reverse.set(reverseName(address.bytes), name);
      });
      own.set(canonicalName(name), entry);
    }
  }
  const lookup = opts.lookup;
  const ttl = opts.ttl ?? 60;
  const responderMax = opts.maxUdp ?? 1232;
  const counters: DnsResponderCounters = { queries: 0, dropped: 0, noerror: 0, formerr: 0, servfail: 0, nxdomain: 0, notimp: 0, refused: 0, badvers: 0, truncated: 0 };
  const byRcode: Partial<Record<number, keyof DnsResponderCounters>> = {
    [DnsRcode.NOERROR]: "noerror",
    [DnsRcode.FORMERR]: "formerr",
    [DnsRcode.SERVFAIL]: "servfail",
    [DnsRcode.NXDOMAIN]: "nxdomain",
    [DnsRcode.NOTIMP]: "notimp",
    [DnsRcode.REFUSED]: "refused",
  };

  function finish(response: DnsMessage, maxSize?: number): Uint8Array {
    const bytes = encodeDnsMessage(response, { maxSize });
    const counter = byRcode[response.rcode];
    if (counter) counters[counter]++;
    if (bytes[2] & 0x02) counters.truncated++;
    return bytes;
  }

  async function answer(query: DnsMessage, response: DnsMessage): Promise<void> {
    const q = query.questions[0];
    const key = canonicalName(q.name);
    if (q.class !== DNS_CLASS_IN) {
      response.rcode = DnsRcode.REFUSED;
      return;
    }
    const mine = own.get(key);
    const target = reverse.get(key);
    if (mine || target !== undefined) {
      response.aa = true;
      if (mine && (q.type === DnsType.A || q.type === DnsType.AAAA || q.type === DnsType.ANY)) {
        if (q.type !== DnsType.AAAA) for (const a of mine.v4) response.answers.push({ name: q.name, type: DnsType.A, class: DNS_CLASS_IN, ttl, data: a });
        if (q.type !== DnsType.A) for (const a of mine.v6) response.answers.push({ name: q.name, type: DnsType.AAAA, class: DNS_CLASS_IN, ttl, data: a });
      }
      if (target !== undefined && (q.type === DnsType.PTR || q.type === DnsType.ANY)) {
        response.answers.push({ name: q.name, type: DnsType.PTR, class: DNS_CLASS_IN, ttl, data: target });
      }
      // Anything else about an own name is NODATA: NOERROR with no answer (RFC 2308 2.2).
      return;
    }
    if (key.endsWith(".arpa") || key === "arpa" || (q.type !== DnsType.A && q.type !== DnsType.AAAA) || !lookup) {
      // Reverse names not ours, and names nobody can look up, do not exist here. Other types of
      // foreign names: the lookup only knows addresses, so NODATA rather than a claim of absence.
      if (key.endsWith(".arpa") || key === "arpa" || !lookup) response.rcode = DnsRcode.NXDOMAIN;
      return;
    }
    const family = q.type === DnsType.A ? "A" : "AAAA";
    let found: readonly DnsLookupAddress[] | null;
    try {
      found = await lookup(q.name, family);
    } catch {
      response.rcode = DnsRcode.SERVFAIL;
      return;
    }
    if (found === null || found === undefined) {
      response.rcode = DnsRcode.NXDOMAIN;
      return;
    }
    if (!Array.isArray(found)) {
      response.rcode = DnsRcode.SERVFAIL;
      return;
    }
    for (const item of found) {
      const text = typeof item === "string" ? item : item && typeof item === "object" ? item.address : undefined;
      const parsed = typeof text === "string" ? parseAddress(text) : null;
      if (!parsed || (parsed.version === 4) !== (q.type === DnsType.A)) continue;
      const itemTtl = typeof item === "object" && Number.isInteger(item.ttl) && item.ttl! >= 0 ? Math.min(item.ttl!, 0x7fff_ffff) : ttl;
      response.answers.push({ name: q.name, type: q.type, class: DNS_CLASS_IN, ttl: itemTtl, data: text! });
    }
  }

  return {
    async handle(query: Uint8Array, handleOptions?: DnsHandleOptions): Promise<Uint8Array | null> {
      const hopts = optionsObject(handleOptions, "options");
      validateKnownKeys(hopts as Record<string, unknown>, "options", KNOWN_HANDLE);
      if (hopts.tcp !== undefined) validateBoolean(hopts.tcp, "options.tcp");
      if (hopts.maxUdp !== undefined) validateInteger(hopts.maxUdp, "options.maxUdp", DNS_UDP_LIMIT, 0xffff);
      validateUint8Array(query, "query");
      counters.queries++;
      // A response never draws an answer, even a malformed one: two responders must not ping-pong.
      if (query.length < 12 || query[2] & 0x80) {
        counters.dropped++;
        return null;
      }
      const parsed = parseDnsMessage(query);
      const response: DnsMessage = {
        id: (query[0] << 8) | query[1],
        qr: true,
        opcode: (query[2] >> 3) & 0xf,
        aa: false,
        tc: false,
        rd: (query[2] & 0x01) !== 0,
        ra: lookup !== undefined,
        ad: false,
        cd: false,
        rcode: DnsRcode.NOERROR,
        questions: [],
        answers: [],
        authorities: [],
        additionals: [],
      };
      let limit = hopts.tcp ? 0xffff : DNS_UDP_LIMIT;
      if (!parsed.ok) {
        response.rcode = DnsRcode.FORMERR;
      } else {
        const message = parsed.message;
        const opts = message.additionals.filter((r) => r.type === DnsType.OPT);
        const udpSize = ednsUdpSize(message);
        if (response.opcode !== 0) {
          // RFC 1035 4.1.1: NOTIMP, the question echoed when there is one.
          response.rcode = DnsRcode.NOTIMP;
          response.questions = message.questions.slice(0, 1);
        } else if (message.questions.length !== 1 || opts.length > 1 || (opts.length === 1 && opts[0].name !== "")) {
          // RFC 9619: exactly one question; RFC 6891 6.1.1: at most one OPT, owned by the root.
          response.rcode = DnsRcode.FORMERR;
        } else {
          response.questions = message.questions;
          if (udpSize !== undefined) {
            const version = (opts[0].ttl >>> 16) & 0xff;
            if (version !== 0) {
              // RFC 6891 6.1.3: an unknown EDNS version is BADVERS, with our OPT, no answer.
              response.additionals.push(optRecord(responderMax, DnsRcode.BADVERS >> 4));
              counters.badvers++;
              return encodeDnsMessage(response);
            }
            response.additionals.push(optRecord(responderMax));
          }
          await answer(message, response);
        }
        if (!hopts.tcp && udpSize !== undefined) {
          // RFC 6891 6.2.5: the requestor's size, never below 512, never above our own limit.
          limit = Math.min(Math.max(udpSize, DNS_UDP_LIMIT), hopts.maxUdp ?? responderMax, responderMax);
        } else if (!hopts.tcp && hopts.maxUdp !== undefined) {
          limit = Math.min(limit, hopts.maxUdp);
        }
      }
      return finish(response, limit);
    },
    counters,
  };
}

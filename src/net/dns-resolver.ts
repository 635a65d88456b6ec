// The resolver core for the stack's own connects: it builds queries, judges responses, follows CNAME
// chains and caches answers, positive and negative. Sans-I/O: the caller sends the octets, owns the
// timers and passes the time in; the retry policy is data the caller walks (query(name, type, attempt)).
import { parseAddress } from "../core/address.js";
import { invalidValue, outOfRange, validateArray, validateBoolean, validateFunction, validateInteger, validateKnownKeys, validateNumber, validateObject, validateOneOf, validateString, validateUint8Array } from "../core/validate.js";
import { canonicalName, DNS_CLASS_IN, DNS_UDP_LIMIT, DnsRcode, DnsType, encodeDnsMessage, nameLabels, optRecord, parseDnsMessage, sameName, type DnsMessage } from "./dns-message.js";

/** The address families a resolver asks for. */
export type DnsAddressType = "A" | "AAAA";

/** Options of createDnsResolver. */
export interface DnsResolverOptions {
  /** The servers to ask, as IPv4 or IPv6 address text, in order of preference; at least one. */
  servers: readonly string[];
  /** Their port. Default 53. */
  port?: number;
  /**
   * Fills its argument with random octets, for query IDs (RFC 5452 9.2: unpredictable IDs are the
   * defence against forged answers). Default: crypto.getRandomValues.
   */
  random?: (bytes: Uint8Array) => unknown;
  /**
   * How long to wait for each attempt, milliseconds, one entry per round; every round asks every
   * server once, in order. Default [1000, 2000, 4000]: 3 rounds.
   */
  timeouts?: readonly number[];
  /**
   * The UDP payload size its queries advertise in an OPT record (RFC 6891 6.2.5), octets 512..65535,
   * so answers up to that size need no TCP retry; 0 sends plain RFC 1035 queries (answers up to 512
   * octets). Default 1232 (fits a 1280-octet IPv6 path).
   */
  udpSize?: number;
  /** The longest CNAME chain followed within one answer (RFC 1034 3.6.2). Default 8. */
  maxCnameHops?: number;
  /** Cache entries kept (positive and negative); the oldest goes first. 0 disables the cache. Default 1024. */
  cacheSize?: number;
  /** The longest a positive answer is cached, seconds (RFC 2181 8 allows 2^31-1). Default 86400. */
  maxTtl?: number;
  /** The longest a negative answer is cached, seconds (RFC 2308 5 suggests 1 to 3 hours). Default 10800. */
  maxNegativeTtl?: number;
}

/** One attempt's query: send `bytes` to `server`:`port` over UDP and wait `timeoutMs`. */
export interface DnsQuery {
  /** The message ID (random). */
  readonly id: number;
  /** The name as asked. */
  readonly name: string;
  /** The address family asked for. */
  readonly type: DnsAddressType;
  /** The attempt number this query is for (0 first). */
  readonly attempt: number;
  /** The server to send it to, as given in options.servers. */
  readonly server: string;
  /** The server's port (options.port). */
  readonly port: number;
  /** How long to wait for the answer before the next attempt, milliseconds. */
  readonly timeoutMs: number;
  /** The query message (RD set, RFC 1035 4.1.1; an OPT record unless options.udpSize is 0); over TCP prefix it with frameDnsTcp. */
  readonly bytes: Uint8Array;
  /** The query advertises a UDP size in an OPT record (RFC 6891). */
  readonly edns: boolean;
}

/** An address with the seconds it may still be used. */
export interface DnsAddress {
  /** The address as text ("192.0.2.1", "2001:db8::1"). */
  address: string;
  /** Seconds it may still be used. */
  ttl: number;
}

/**
 * What a response (or the cache) says:
 * - `addresses`: the name's addresses; `name` is where the CNAME chain ended, `ttl` the smallest TTL
 *   along the chain, seconds.
 * - `nxdomain`: no such name; `nodata`: the name exists without addresses of this family (RFC 2308 2).
 *   `ttl` is how long that holds (0 without an SOA record: not cached, RFC 2308 5).
 * - `truncated`: the UDP answer had TC set: send the same query over TCP (RFC 7766 5).
 * - `failed`: the server answered SERVFAIL, REFUSED, NOTIMP or FORMERR, or a CNAME chain broke:
 *   move on to the next attempt. Reason "no-edns": the server knows no EDNS0 (FORMERR or NOTIMP
 *   without an OPT record): ask it again with query(name, type, attempt, true) (RFC 6891 7).
 * - `ignored`: not the answer to this query (malformed, wrong ID, question or server): keep waiting.
 */
export type DnsResult =
  | { status: "addresses"; name: string; addresses: DnsAddress[]; ttl: number }
  | { status: "nxdomain"; ttl: number }
  | { status: "nodata"; ttl: number }
  | { status: "truncated" }
  | { status: "failed"; rcode: number; reason: string }
  | { status: "ignored"; reason: string };

/** The answers a cache holds. */
export type DnsCachedResult = Extract<DnsResult, { status: "addresses" | "nxdomain" | "nodata" }>;

/** A resolver core (createDnsResolver). All times are milliseconds on the caller's clock. */
export interface DnsResolver {
  /** A fresh cached answer for `name`, with TTLs counted down to `nowMs`, or undefined. */
  cached(name: string, type: DnsAddressType, nowMs: number): DnsCachedResult | undefined;
  /**
   * The query for attempt `attempt` (0, 1, ...) with a new random ID, or null when the retry policy is
   * spent. Attempt n goes to servers[n % servers.length] in round floor(n / servers.length). With
   * `plain` the query carries no OPT record: the retry after a `failed` result with reason "no-edns"
   * (RFC 6891 7).
   */
  query(name: string, type: DnsAddressType, attempt?: number, plain?: boolean): DnsQuery | null;
  /**
   * Judges `response`, which arrived from address `from` (over TCP when `tcp`), against `query`.
   * The source port is the socket's to check (query.port; a connected UDP socket does). Answers are
   * cached at `nowMs`. Never throws for anything in the response.
   */
  accept(query: DnsQuery, response: Uint8Array, from: string, nowMs: number, tcp?: boolean): DnsResult;
  /** Cache entries held now (expired ones included until looked at or pushed out). */
  readonly cacheEntries: number;
  /** Empties the cache. */
  clear(): void;
}

const KNOWN = new Set(["servers", "port", "udpSize", "random", "timeouts", "maxCnameHops", "cacheSize", "maxTtl", "maxNegativeTtl"]);
const TYPES: readonly DnsAddressType[] = ["A", "AAAA"];

interface Entry {
  expiresAt: number;
  result: DnsCachedResult;
}

/** Creates a resolver core; throws a TcpwasmError (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE) for bad options. */
export function createDnsResolver(options: DnsResolverOptions): DnsResolver {
  validateObject(options, "options");
  validateKnownKeys(options as unknown as Record<string, unknown>, "options", KNOWN);
  validateArray(options.servers, "options.servers", (s, n) => {
    validateString(s, n);
    if (!parseAddress(s)) invalidValue(n, s, "must be an IPv4 or IPv6 address");
  }, 1);
  const servers = [...options.servers];
  const port = options.port ?? 53;
  validateInteger(port, "options.port", 1, 65535);
  if (options.random !== undefined) validateFunction(options.random, "options.random");
  const random = options.random ?? ((b: Uint8Array<ArrayBuffer>) => crypto.getRandomValues(b));
  const timeouts = options.timeouts ?? [1000, 2000, 4000];
  validateArray(timeouts, "options.timeouts", (t, n) => validateInteger(t, n, 1, 0x7fff_ffff), 1);
  const udpSize = options.udpSize ?? 1232;
  validateInteger(udpSize, "options.udpSize", 0, 0xffff);
  if (udpSize !== 0 && udpSize < DNS_UDP_LIMIT) outOfRange("options.udpSize", `0 or an integer >= ${DNS_UDP_LIMIT} && <= 65535`, udpSize);
  const maxHops = options.maxCnameHops ?? 8;
  validateInteger(maxHops, "options.maxCnameHops", 0, 64);
  const cacheSize = options.cacheSize ?? 1024;
  validateInteger(cacheSize, "options.cacheSize", 0, 1 << 24);
  const maxTtl = options.maxTtl ?? 86400;
  validateInteger(maxTtl, "options.maxTtl", 0, 0x7fff_ffff);
  const maxNegativeTtl = options.maxNegativeTtl ?? 10800;
  validateInteger(maxNegativeTtl, "options.maxNegativeTtl", 0, 0x7fff_ffff);
  const cache = new Map<string, Entry>();

  function checkName(name: unknown, what: string): asserts name is string {
    validateString(name, what);
    if (nameLabels(name) === null) invalidValue(what, name, "must be a domain name (labels of 1 to 63 octets, at most 255 in all)");
  }

  function store(key: string, result: DnsCachedResult, nowMs: number): void {
    if (cacheSize === 0 || result.ttl <= 0) return;
    cache.delete(key);
    cache.set(key, { expiresAt: nowMs + result.ttl * 1000, result });
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
  }

  function judge(query: DnsQuery, message: DnsMessage, tcp: boolean): DnsResult {
    if (!message.qr) return { status: "ignored", reason: "not-a-response" };
    if (message.id !== query.id) return { status: "ignored", reason: "id" };
    if (message.opcode !== 0) return { status: "ignored", reason: "opcode" };
    // RFC 5452 4.2: the question must come back as asked.
    const qtype = DnsType[query.type];
    const q = message.questions;
    if (q.length !== 1 || !sameName(q[0].name, query.name) || q[0].type !== qtype || q[0].class !== DNS_CLASS_IN) {
      return { status: "ignored", reason: "question" };
    }
    if (message.tc && !tcp) return { status: "truncated" };
    // RFC 6891 7: a server that knows no EDNS answers FORMERR (or NOTIMP) without an OPT record.
    const noEdns = (message.rcode === DnsRcode.FORMERR || message.rcode === DnsRcode.NOTIMP) && !message.additionals.some((r) => r.type === DnsType.OPT);
    if (query.edns && noEdns) return { status: "failed", rcode: message.rcode, reason: "no-edns" };
    if (message.rcode !== DnsRcode.NOERROR && message.rcode !== DnsRcode.NXDOMAIN) {
      return { status: "failed", rcode: message.rcode, reason: "rcode" };
    }
    // RFC 1034 3.6.2, 4.3.2: follow CNAMEs from the question's name through the answer section.
    let current = query.name;
    let ttl = maxTtl;
    let hops = 0;
    for (;;) {
      const here = message.answers.filter((r) => r.class === DNS_CLASS_IN && sameName(r.name, current));
      const addresses = here.filter((r) => r.type === qtype && typeof r.data === "string");
      if (addresses.length > 0) {
        for (const r of addresses) ttl = Math.min(ttl, r.ttl);
        return { status: "addresses", name: canonicalName(current), addresses: addresses.map((r) => ({ address: r.data as string, ttl: Math.min(r.ttl, maxTtl) })), ttl };
      }
      const alias = here.find((r) => r.type === DnsType.CNAME && typeof r.data === "string");
      if (!alias) break;
      if (++hops > maxHops) return { status: "failed", rcode: message.rcode, reason: "cname-chain" };
      ttl = Math.min(ttl, alias.ttl);
      current = alias.data as string;
    }
    // RFC 2308 5: a negative answer lives min(SOA TTL, SOA MINIMUM); without an SOA it is not cached.
    let negative = 0;
    const soa = message.authorities.find((r) => r.type === DnsType.SOA && r.data instanceof Uint8Array && r.data.length >= 22);
    if (soa) {
      const d = soa.data as Uint8Array;
      const e = d.length;
      const minimum = ((d[e - 4] << 24) | (d[e - 3] << 16) | (d[e - 2] << 8) | d[e - 1]) >>> 0;
      negative = Math.min(soa.ttl, minimum, maxNegativeTtl, hops > 0 ? ttl : maxNegativeTtl);
    }
    return message.rcode === DnsRcode.NXDOMAIN ? { status: "nxdomain", ttl: negative } : { status: "nodata", ttl: negative };
  }

  return {
    cached(name, type, nowMs) {
      checkName(name, "name");
      validateOneOf(type, "type", TYPES);
      validateNumber(nowMs, "nowMs");
      // RFC 2308 5: an NXDOMAIN holds for every type of the name, so it is kept under "*".
      const canonical = canonicalName(name);
      const key = cache.has(`${type} ${canonical}`) ? `${type} ${canonical}` : `* ${canonical}`;
      const entry = cache.get(key);
      if (!entry) return undefined;
      const left = Math.floor((entry.expiresAt - nowMs) / 1000);
      if (left <= 0) {
        cache.delete(key);
        return undefined;
      }
      const r = entry.result;
      const age = r.ttl - left;
      if (r.status !== "addresses") return { status: r.status, ttl: left };
      return { status: "addresses", name: r.name, ttl: left, addresses: r.addresses.map((a) => ({ address: a.address, ttl: Math.max(0, Math.min(left, a.ttl - age)) })) };
    },
    query(name, type, attempt = 0, plain = false) {
      checkName(name, "name");
      validateOneOf(type, "type", TYPES);
      validateInteger(attempt, "attempt", 0);
      validateBoolean(plain, "plain");
      const round = Math.floor(attempt / servers.length);
      if (round >= timeouts.length) return null;
      const idBytes = new Uint8Array(new ArrayBuffer(2));
      random(idBytes);
      const id = (idBytes[0] << 8) | idBytes[1];
      const edns = udpSize !== 0 && !plain;
      const additionals = edns ? [optRecord(udpSize)] : [];
      const bytes = encodeDnsMessage({ id, rd: true, questions: [{ name, type: DnsType[type], class: DNS_CLASS_IN }], additionals });
      return { id, name, type, attempt, server: servers[attempt % servers.length], port, timeoutMs: timeouts[round], bytes, edns };
    },
    accept(query, response, from, nowMs, tcp = false) {
      validateObject(query, "query");
      validateUint8Array(response, "response");
      validateString(from, "from");
      validateNumber(nowMs, "nowMs");
      // RFC 5452 9.1: only the server asked may answer.
      const sent = parseAddress(query.server);
      const got = parseAddress(from);
      if (!sent || !got || sent.bytes.length !== got.bytes.length || sent.bytes.some((b, i) => b !== got.bytes[i])) {
        return { status: "ignored", reason: "server" };
      }
      const parsed = parseDnsMessage(response);
      if (!parsed.ok) return { status: "ignored", reason: `malformed: ${parsed.reason}` };
      const result = judge(query, parsed.message, tcp);
      if (result.status === "addresses" || result.status === "nxdomain" || result.status === "nodata") {
        // The name itself is absent only when no CNAME led elsewhere (RFC 2308 2.1: NXDOMAIN is for the chain's end).
        const whole = result.status === "nxdomain" && parsed.message.answers.length === 0;
        store(`${whole ? "*" : query.type} ${canonicalName(query.name)}`, result, nowMs);
      }
      return result;
    },
    get cacheEntries() {
      return cache.size;
    },
    clear() {
      cache.clear();
    },
  };
}

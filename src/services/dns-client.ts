// DNS over the stack's own UDP, for its connects when StackOptions.dns names servers. The resolver
// core (src/net/dns-resolver.ts) builds the queries, judges the answers and keeps the cache; this
// file moves them: each query from a fresh UDP socket on a random ephemeral port, connected to the
// server (RFC 5452 9.2 and 4: a random ID and a random port, and only the server's address and port
// are heard), a timer per attempt from the core's retry plan, and a truncated answer (TC) asked again
// over the stack's own TCP (RFC 7766 5, RFC 1035 4.2.2 framing). Browser-safe.
import { TcpwasmError } from "../core/errors.js";
import { createDnsResolver, type DnsAddressType, type DnsQuery, type DnsResolver, type DnsResult } from "../net/dns-resolver.js";
import { canonicalName, nameLabels } from "../net/dns-message.js";
import { DnsTcpReader, frameDnsTcp } from "../net/dns-tcp.js";
import type { Stack, StackConnection } from "../tcp/stack.js";
import type { StackUdpSocket } from "../tcp/udp.js";

/** What a stack's DNS client has done (live counters; dnsClientCounters(stack)). */
export interface DnsClientCounters {
  /** Names asked for (one per address family). */
  lookups: number;
  /** Answers taken from the cache (RFC 2308 for the negative ones). */
  cacheHits: number;
  /** Queries sent over UDP. */
  queries: number;
  /** Attempts that got no usable answer in time. */
  timeouts: number;
  /** Truncated UDP answers asked again over TCP. */
  tcpFallbacks: number;
  /** Answers that could not be parsed, dropped (the attempt goes on waiting). */
  malformed: number;
  /** Well-formed messages that did not answer the query (wrong ID, question or server), dropped. */
  mismatched: number;
  /** Servers that answered SERVFAIL, REFUSED and the like, or whose port was unreachable. */
  serverFailures: number;
}

/** The outcome of one name and one type, once the retry plan is done with it. */
type Outcome =
  | { status: "addresses"; addresses: string[] }
  | { status: "nxdomain" | "nodata" }
  | { status: "failed"; why: string };

/** One attempt's end: an answer the core judged, or a failure of the attempt itself. */
type Step = DnsResult | { status: "timeout" } | { status: "unreachable"; why: string };

/** @internal The resolver of one stack: its core (cache included) and its counters (made by resolve-host.ts). */
export class StackDnsClient {
  /** What it has done so far. */
  readonly counters: DnsClientCounters = { lookups: 0, cacheHits: 0, queries: 0, timeouts: 0, tcpFallbacks: 0, malformed: 0, mismatched: 0, serverFailures: 0 };
  readonly #stack: Stack;
  readonly #core: DnsResolver;
  readonly #families: { v4: boolean; v6: boolean };
  /** Lookups under way, by type and name: a second connect to the same name waits for the same answer. */
  readonly #inFlight = new Map<string, Promise<Outcome>>();

  /** Asks `servers` in order; round r of `attempts` waits timeoutMs × 2^r for each server. */
  constructor(stack: Stack, servers: readonly string[], timeoutMs: number, attempts: number) {
    this.#stack = stack;
    this.#core = createDnsResolver({ servers, timeouts: Array.from({ length: attempts }, (_, r) => timeoutMs * 2 ** r) });
    this.#families = { v4: stack.addresses.some((a) => !a.includes(":")), v6: stack.addresses.some((a) => a.includes(":")) };
  }

  /**
   * The addresses of `hostname` of `family` (0: the families the stack has an address of, as
   * getaddrinfo's AI_ADDRCONFIG), IPv6 first (RFC 6724 6's default policy prefers ::/0 over
   * ::ffff:0:0/96). Rejects with ENOTFOUND or EAI_AGAIN as a TcpwasmError; the caller names the host.
   */
  async resolve(hostname: string, family: 0 | 4 | 6): Promise<string[]> {
    if (nameLabels(hostname) === null) throw new TcpwasmError("ENOTFOUND", "not a domain name");
    const types: DnsAddressType[] = [];
    if (family === 6 || (family === 0 && this.#families.v6)) types.push("AAAA");
    if (family === 4 || (family === 0 && this.#families.v4)) types.push("A");
    const outcomes = await Promise.all(types.map((t) => this.#lookup(hostname, t)));
    const addresses = outcomes.flatMap((o) => (o.status === "addresses" ? o.addresses : []));
    if (addresses.length > 0) return addresses;
    const failed = outcomes.find((o): o is Extract<Outcome, { status: "failed" }> => o.status === "failed");
    if (failed) throw new TcpwasmError("EAI_AGAIN", failed.why);
    throw new TcpwasmError("ENOTFOUND", outcomes.some((o) => o.status === "nxdomain") ? "no such name (NXDOMAIN)" : "no address (NODATA)");
  }

  /** One name and type: the cache, else a lookup under way for it, else the core's retry plan. */
  #lookup(name: string, type: DnsAddressType): Promise<Outcome> {
    this.counters.lookups++;
    const hit = this.#core.cached(name, type, this.#stack.time());
    if (hit) {
      this.counters.cacheHits++;
      return Promise.resolve(outcomeOf(hit));
    }
    const key = `${type} ${canonicalName(name)}`;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = this.#ask(name, type);
      this.#inFlight.set(key, pending);
      pending.then(() => this.#inFlight.delete(key));
    }
    return pending;
  }

  /** The core's retry plan for one name and type, attempt after attempt. */
  #ask(name: string, type: DnsAddressType): Promise<Outcome> {
    return new Promise((resolve) => {
      let attempt = 0;
      let plain = false;
      let why = "no answer";
      const next = (): void => {
        const query = this.#core.query(name, type, attempt, plain);
        if (query === null) {
          resolve({ status: "failed", why: `${why} (${attempt} attempt${attempt === 1 ? "" : "s"})` });
          return;
        }
        this.#askUdp(query, (step) => {
          switch (step.status) {
            case "addresses":
            case "nxdomain":
            case "nodata":
              resolve(outcomeOf(step));
              return;
            case "failed":
              this.counters.serverFailures++;
              // RFC 6891 7: a server without EDNS0 is asked again, the same attempt, without OPT.
              if (step.reason === "no-edns" && !plain) {
                plain = true;
                next();
                return;
              }
              why = `${query.server} answered rcode ${step.rcode} (${step.reason})`;
              break;
            case "timeout":
              this.counters.timeouts++;
              why = "no answer in time";
              break;
            case "unreachable":
              this.counters.serverFailures++;
              why = `${query.server}: ${step.why}`;
              break;
            default:
              // "truncated" and "ignored" never end an attempt (#askUdp handles them).
              break;
          }
          attempt++;
          next();
        });
      };
      next();
    });
  }

  /** Sends `query` over UDP and reports how the attempt ended, once; a TC answer goes on over TCP. */
  #askUdp(query: DnsQuery, done: (step: Step) => void): void {
    const stack = this.#stack;
    let over = false;
    let socket: StackUdpSocket | undefined;
    let timer: unknown;
    const finish = (step: Step): void => {
      if (over) return;
      over = true;
      if (timer !== undefined) stack.timers.clearTimeout(timer);
      socket?.close();
      done(step);
    };
    try {
      // A new socket per query: a fresh random ephemeral port (RFC 5452 9.2), connected so that only
      // the server's address and port are heard (RFC 5452 4.1).
      socket = stack.openUdp({ remoteAddress: query.server, remotePort: query.port }, (m) => {
        if (over) return;
        const result = this.#core.accept(query, m.data, m.remoteAddress, stack.time());
        if (result.status === "ignored") {
          // RFC 5452 9.1: a forged or broken answer must not end the wait for the real one.
          if (result.reason.startsWith("malformed")) this.counters.malformed++;
          else this.counters.mismatched++;
          return;
        }
        if (result.status === "truncated") {
          over = true;
          if (timer !== undefined) stack.timers.clearTimeout(timer);
          socket!.close();
          this.counters.tcpFallbacks++;
          this.#askTcp(query, done);
          return;
        }
        finish(result);
      });
      socket.onError((error) => finish({ status: "unreachable", why: error.message }));
      timer = stack.timers.setTimeout(() => finish({ status: "timeout" }), query.timeoutMs);
      this.counters.queries++;
      if (!socket.send(query.bytes)) finish({ status: "unreachable", why: "no route to the server" });
    } catch (error) {
      // No port left, a closed stack, a path too narrow: this attempt fails, the next server may do better.
      finish({ status: "unreachable", why: error instanceof Error ? error.message : String(error) });
    }
  }

  /** The same query over a TCP connection to the server (RFC 7766 5), with the attempt's timeout. */
  #askTcp(query: DnsQuery, done: (step: Step) => void): void {
    const stack = this.#stack;
    let over = false;
    let conn: StackConnection | undefined;
    const finish = (step: Step): void => {
      if (over) return;
      over = true;
      if (timer !== undefined) stack.timers.clearTimeout(timer);
      if (conn && !conn.isClosed) {
        conn.onData = conn.onEnd = conn.onClose = conn.onConnect = undefined;
        conn.release();
      }
      done(step);
    };
    const timer = stack.timers.setTimeout(() => finish({ status: "timeout" }), query.timeoutMs);
    try {
      conn = stack.openConnection({ remote: query.server, remotePort: query.port });
    } catch (error) {
      finish({ status: "unreachable", why: error instanceof Error ? error.message : String(error) });
      return;
    }
    const c = conn;
    const reader = new DnsTcpReader();
    c.onConnect = () => {
      c.write(frameDnsTcp(query.bytes));
    };
    c.onData = (chunk) => {
      for (const message of reader.push(chunk)) {
        const result = this.#core.accept(query, message, query.server, stack.time(), true);
        if (result.status === "ignored") {
          if (result.reason.startsWith("malformed")) this.counters.malformed++;
          else this.counters.mismatched++;
          continue;
        }
        finish(result);
        return;
      }
    };
    c.onEnd = () => finish({ status: "unreachable", why: "the TCP connection ended without an answer" });
    c.onClose = (error) => finish({ status: "unreachable", why: error?.message ?? "the TCP connection closed without an answer" });
  }
}

function outcomeOf(r: DnsResult): Outcome {
  if (r.status === "addresses") return { status: "addresses", addresses: r.addresses.map((a) => a.address) };
  if (r.status === "nxdomain" || r.status === "nodata") return { status: r.status };
  return { status: "failed", why: r.status };
}

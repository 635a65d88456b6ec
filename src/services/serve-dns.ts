// serveDns: a DNS responder (src/net/dns-responder.ts) bound to a stack, for a gateway's guests:
// queries over UDP on port 53 (an answer too large is cut with TC set, RFC 1035 4.2.1, RFC 6891) and
// over TCP on the same port for the retry (RFC 7766: two-octet framing, several queries per
// connection, answered as they complete). The lookup behind it is yours: Node's dns.promises in
// Node, a DNS-over-HTTPS fetch in a page. Browser-safe.
import { invalidType, optionsObject, validateInteger, validateKnownKeys } from "../core/validate.js";
import { validateAddress } from "../core/address.js";
import { createDnsResponder, type DnsResponderCounters, type DnsResponderOptions } from "../net/dns-responder.js";
import { DnsTcpReader, frameDnsTcp } from "../net/dns-tcp.js";
import { Stack, type StackConnection, type StackListener } from "../tcp/stack.js";
import type { StackUdpSocket } from "../tcp/udp.js";

/** Options of serveDns: the responder's (lookup, names, ttl, maxUdp) and where it listens. */
export interface ServeDnsOptions extends DnsResponderOptions {
  /** One of the stack's addresses to answer on. Default: every address of the stack. */
  address?: string;
  /** The port, UDP and TCP. Default 53. */
  port?: number;
  /** TCP connections served at once; one more is reset (RFC 7766 6.2.2 lets a server bound them). Default 64. */
  maxTcpConnections?: number;
  /** A TCP connection with no query for this long is closed, ms (RFC 7766 6.2.3). Default 10,000. */
  tcpIdleMs?: number;
  /**
   * Queries being answered at once (waiting for `lookup`), UDP and TCP together; one more is dropped
   * unanswered and counted in `overloaded`, so a flood of queries for names that look up slowly holds
   * bounded memory (the client asks again, RFC 1035 4.2.1). Default 1024.
   */
  maxPendingQueries?: number;
}

/** What a DNS service has seen: the responder's counters and the transport's own. */
export interface DnsServiceCounters extends DnsResponderCounters {
  /** Queries that came over UDP. */
  udpQueries: number;
  /** Queries that came over TCP. */
  tcpQueries: number;
  /** TCP connections accepted. */
  tcpConnections: number;
  /** TCP connections reset: over maxTcpConnections, or a client not reading its answers. */
  tcpRefused: number;
  /** Queries dropped unanswered because maxPendingQueries were already being answered. */
  overloaded: number;
  /** UDP answers the stack could not send: no route (counted there too), or larger than the path's MTU. */
  udpUnsent: number;
}

/** A DNS responder running on a stack (serveDns). */
export interface DnsService {
  /** The counters now (a copy). */
  readonly counters: Readonly<DnsServiceCounters>;
  /** Stops answering: the UDP socket and the TCP listener close, open TCP connections are reset. */
  close(): void;
}

const KNOWN: ReadonlySet<string> = new Set(["lookup", "names", "ttl", "maxUdp", "address", "port", "maxTcpConnections", "tcpIdleMs", "maxPendingQueries"]);

/**
 * Answers DNS on `stack`'s UDP and TCP port 53 (options.port) with a responder made from `options`.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options;
 * EADDRINUSE when the port is taken; EADDRNOTAVAIL for an address the stack does not own.
 */
export function serveDns(stack: Stack, options?: ServeDnsOptions): DnsService {
  if (!(stack instanceof Stack)) invalidType("stack", "an instance of Stack (from createStack)", stack);
  const o = optionsObject(options, "options");
  validateKnownKeys(o as Record<string, unknown>, "options", KNOWN);
  const { address, port = 53, maxTcpConnections = 64, tcpIdleMs = 10_000, maxPendingQueries = 1024, ...responderOptions } = o;
  if (address !== undefined) validateAddress(address, "options.address");
  validateInteger(port, "options.port", 1, 65535);
  validateInteger(maxTcpConnections, "options.maxTcpConnections", 0, 1 << 20);
  validateInteger(tcpIdleMs, "options.tcpIdleMs", 1, 0x7fff_ffff);
  validateInteger(maxPendingQueries, "options.maxPendingQueries", 1, 1 << 20);
  const responder = createDnsResponder(responderOptions);
  const own = { udpQueries: 0, tcpQueries: 0, tcpConnections: 0, tcpRefused: 0, overloaded: 0, udpUnsent: 0 };
  /** Queries of both transports waiting for their answer (maxPendingQueries bounds them). */
  let answering = 0;
  const answer = (query: Uint8Array, tcp: boolean): Promise<Uint8Array | null> | null => {
    if (answering >= maxPendingQueries) {
      own.overloaded++;
      return null;
    }
    answering++;
    return responder.handle(query, { tcp }).finally(() => answering--);
  };
  let closed = false;
  const connections = new Set<StackConnection>();

  const udp: StackUdpSocket = stack.openUdp({ localAddress: address, localPort: port }, (m) => {
    own.udpQueries++;
    answer(m.data, false)?.then((reply) => {
      if (reply === null || closed || udp.closed) return;
      try {
        // From the address the query went to (a gateway answers for any address its guests ask).
        if (!udp.send(reply, m.remoteAddress, m.remotePort, m.broadcast ? undefined : { from: m.localAddress })) own.udpUnsent++;
      } catch {
        // EMSGSIZE: a path narrower than the answer (maxUdp) cannot carry it; the client retries over TCP.
        own.udpUnsent++;
      }
    });
  });

  let listener: StackListener;
  try {
    listener = stack.openListener({ port, address }, (conn) => serveTcp(conn));
  } catch (error) {
    udp.close();
    throw error;
  }

  /** One TCP client (RFC 7766 6.2.1: any number of queries, each answered when it completes). */
  function serveTcp(conn: StackConnection): void {
    own.tcpConnections++;
    if (connections.size >= maxTcpConnections) {
      own.tcpRefused++;
      conn.abort();
      return;
    }
    connections.add(conn);
    const reader = new DnsTcpReader();
    /** Queries whose answers are still being looked up: the connection is not idle, and our FIN waits for them. */
    let pending = 0;
    let peerDone = false;
    let ending = false;
    const finish = () => {
      if (ending || conn.isClosed) return;
      ending = true;
      conn.end();
    };
    let idle: unknown;
    const arm = () => {
      if (idle !== undefined) stack.timers.clearTimeout(idle);
      // RFC 7766 6.2.3: a connection with no query outstanding for tcpIdleMs is closed by the server.
      idle = stack.timers.setTimeout(() => (pending === 0 ? finish() : arm()), tcpIdleMs);
    };
    arm();
    conn.onData = (chunk) => {
      arm();
      for (const query of reader.push(chunk)) {
        own.tcpQueries++;
        const answered = answer(query, true);
        if (!answered) continue;
        pending++;
        answered.then((reply) => {
          pending--;
          if (reply !== null && !closed && !conn.isClosed && !ending) {
            const framed = frameDnsTcp(reply);
            // A client that does not read its answers is not queued for: reset, not buffered.
            if (conn.write(framed) < framed.length) {
              own.tcpRefused++;
              conn.abort();
              return;
            }
          }
          // The client half-closed after its queries (RFC 7766 6.2.1 allows it): FIN once all are answered.
          if (peerDone && pending === 0) finish();
        });
      }
    };
    conn.onEnd = () => {
      peerDone = true;
      if (pending === 0) finish();
    };
    conn.onClose = () => {
      if (idle !== undefined) stack.timers.clearTimeout(idle);
      connections.delete(conn);
    };
  }

  return {
    get counters() {
      return { ...responder.counters, ...own };
    },
    close() {
      if (closed) return;
      closed = true;
      udp.close();
      listener.close();
      for (const c of connections) c.abort();
      connections.clear();
    },
  };
}

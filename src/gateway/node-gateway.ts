// The Node side of gateway mode: far sides are node:net sockets. connectNode dials the destination a
// guest asked for; allowPolicy wraps it in an allow/deny list of address:port patterns;
// createNodeGateway is createGateway with those and node:dns as defaults; forwardPort is a node:net
// server whose connections go to a guest (port forwarding into the stack's network).
// Node only (node:net, node:dns); exported from tcpwasm/node.
import * as net from "node:net";
import * as dns from "node:dns";
import * as dgram from "node:dgram";
import { validateAddress } from "../core/address.js";
import { invalidValue, optionsObject, validateArray, validateKnownKeys, validatePort, validateString } from "../core/validate.js";
import { parsePrefix, type Prefix } from "../net/prefix.js";
import type { Stack } from "../tcp/stack.js";
import type { ForwardDecision, ForwardInfo, ForwardPolicy } from "./forwarder.js";
import type { UdpFar, UdpPolicy } from "./udp-forward.js";
import type { DnsLookup, DnsResponderOptions } from "../net/dns-responder.js";
import { createGateway, type Gateway, type GatewayOptions } from "./gateway.js";
import { forwardConnection, type ForwardTarget } from "./port-forward.js";

/**
 * The default far side: a node:net connection to the destination the guest asked for, half-open
 * allowed (so that each side's FIN crosses alone) and Nagle off (the guest's own stack already
 * decided how to segment).
 */
export function connectNode(info: ForwardInfo): net.Socket {
  const socket = net.connect({ host: info.localAddress, port: info.localPort, allowHalfOpen: true });
  socket.setNoDelay(true);
  return socket;
}

/** Options of allowPolicy. */
export interface AllowPolicyOptions {
  /**
   * Destinations allowed, as "address:port" patterns: the address exact, a prefix ("10.0.0.0/8"), or
   * "*"; IPv6 in brackets ("[::1]:80", "[2001:db8::/32]:*"); the port exact, a range ("8000-8999") or "*".
   * Default: every destination.
   */
  allow?: string[];
  /** Destinations refused even when allowed (checked first). Default none. */
  deny?: string[];
  /** How a destination outside the list is refused. Default "admin" (ICMP administratively prohibited). */
  refusal?: "reset" | "host" | "port" | "admin";
  /** The far side of an allowed connection. Default connectNode. */
  connect?: ForwardPolicy;
}

interface Pattern {
  prefix: Prefix | undefined;
  low: number;
  high: number;
}

function parsePattern(text: unknown, name: string): Pattern {
  validateString(text, name);
  const t = text as string;
  const colon = t.lastIndexOf(":");
  if (colon <= 0) invalidValue(name, text, 'must be "address:port" ("10.0.0.0/8:*", "[::1]:80", "*:443")');
  let host = t.slice(0, colon);
  const port = t.slice(colon + 1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  let prefix: Prefix | undefined;
  if (host !== "*") {
    if (host.includes("/")) prefix = parsePrefix(host, name);
    else {
      const a = validateAddress(host, name);
      prefix = parsePrefix(`${host}/${a.version === 4 ? 32 : 128}`, name);
    }
  }
  let low = 0;
  let high = 65535;
  if (port !== "*") {
    const m = /^(\d+)(?:-(\d+))?$/.exec(port);
    if (!m) invalidValue(name, text, "has a port that is not a number, a range or *");
    low = Number(m[1]);
    high = m[2] === undefined ? low : Number(m[2]);
    if (low > high || high > 65535) invalidValue(name, text, "has a port outside 0..65535 or an inverted range");
  }
  return { prefix, low, high };
}

function matches(p: Pattern, version: 4 | 6, bytes: Uint8Array, port: number): boolean {
  if (port < p.low || port > p.high) return false;
  if (!p.prefix) return true;
  if (p.prefix.version !== version) return false;
  let bits = p.prefix.length;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (p.prefix.bytes[i]! & mask)) return false;
  }
  return true;
}

const POLICY_KEYS: ReadonlySet<string> = new Set(["allow", "deny", "refusal", "connect"]);

/** Whether a destination passes `allow` (absent: everything) and not `deny`. */
function destinationFilter(o: { allow?: string[]; deny?: string[] }): (info: ForwardInfo) => boolean {
  if (o.allow !== undefined) validateArray(o.allow, "options.allow");
  if (o.deny !== undefined) validateArray(o.deny, "options.deny");
  const allow = o.allow?.map((t, i) => parsePattern(t, `options.allow[${i}]`));
  const deny = (o.deny ?? []).map((t, i) => parsePattern(t, `options.deny[${i}]`));
  return (info) => {
    const a = validateAddress(info.localAddress, "info.localAddress");
    const hit = (p: Pattern) => matches(p, a.version, a.bytes, info.localPort);
    return !deny.some(hit) && (allow === undefined || allow.some(hit));
  };
}

/**
 * A policy that lets through only destinations `allow` matches and `deny` does not, to
 * `options.connect` (default connectNode); the rest are refused with `options.refusal`.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE or ERR_INVALID_ARG_VALUE for a bad pattern.
 */
export function allowPolicy(options?: AllowPolicyOptions): ForwardPolicy {
  const o = optionsObject(options, "options");
  validateKnownKeys(o as unknown as Record<string, unknown>, "options", POLICY_KEYS);
  const allowed = destinationFilter(o);
  const refusal = o.refusal ?? "admin";
  const connect = o.connect ?? connectNode;
  return (info: ForwardInfo): ForwardDecision | Promise<ForwardDecision> => (allowed(info) ? connect(info) : refusal);
}

/** Options of forwardPort. */
export interface ForwardPortOptions {
  /** The host-side address to listen on. Default "127.0.0.1". */
  host?: string;
  /** The host-side port (0: any free one; see the result's port). */
  port: number;
  /** The guest's address and port inside the stack's network. */
  to: ForwardTarget;
}

/** A running port forward. */
export interface PortForward {
  /** The host-side port listened on. */
  readonly port: number;
  /** Connections forwarded so far. */
  readonly connections: number;
  /** Stops listening; forwarded connections go on until they end. */
  close(): Promise<void>;
}

const FORWARD_KEYS: ReadonlySet<string> = new Set(["host", "port", "to"]);

/**
 * Port forwarding into the stack's network: a node:net server on `host`:`port` whose every connection
 * is spliced to a new connection from `stack` to `to` (the guest refusing it resets the host-side one).
 * @throws TcpwasmError for bad options; the promise rejects with node:net's error when listening fails.
 */
export async function forwardPort(stack: Stack, options: ForwardPortOptions): Promise<PortForward> {
  const o = optionsObject(options, "options");
  validateKnownKeys(o as unknown as Record<string, unknown>, "options", FORWARD_KEYS);
  validatePort(o.port, "options.port", true);
  const to = optionsObject(o.to, "options.to") as ForwardTarget;
  validateAddress(to.address, "options.to.address");
  validatePort(to.port, "options.to.port");
  const target = { address: to.address, port: to.port };
  let connections = 0;
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    connections++;
    socket.setNoDelay(true);
    try {
      forwardConnection(stack, socket, target);
    } catch {
      // No route to the guest: forwardConnection reset the socket.
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The gateway's DNS answers from Node's resolver (dns.lookup: /etc/hosts, then the system's servers). */
export const nodeLookup: DnsLookup = async (name, type) => {
  try {
    const found = await dns.promises.lookup(name, { family: type === "A" ? 4 : 6, all: true });
    return found.map((a) => a.address);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // No such name: NXDOMAIN; a name without addresses of this family: an empty answer.
    if (code === "ENOTFOUND") return null;
    if (code === "ENODATA") return [];
    throw error;
  }
};

/**
 * The default UDP far side: a node:dgram socket per flow, sending to the destination the guest asked
 * for; what comes back from there is answered to the guest.
 */
export function dgramNode(info: ForwardInfo, reply: (data: Uint8Array) => void): UdpFar {
  const socket = dgram.createSocket(info.localAddress.includes(":") ? "udp6" : "udp4");
  socket.on("message", (msg, rinfo) => {
    if (rinfo.port === info.localPort) reply(msg);
  });
  // A send error (no route, the port refused) ends nothing: UDP has no connection to reset.
  socket.on("error", () => {});
  socket.unref();
  return {
    send: (data) => socket.send(data, info.localPort, info.localAddress),
    close: () => socket.close(),
  };
}

/** Options of createNodeGateway: createGateway's, with Node defaults. */
export interface NodeGatewayOptions extends Omit<GatewayOptions, "connect" | "dns" | "udp"> {
  /** Where each TCP connection goes. Default allowPolicy({ allow, deny }): node:net to the destination. */
  connect?: ForwardPolicy;
  /** Destinations allowed (allowPolicy patterns). Default every destination. */
  allow?: string[];
  /** Destinations refused (allowPolicy patterns). Default none. */
  deny?: string[];
  /** DNS: the responder's options, or false. Default: names from nodeLookup (Node's resolver). */
  dns?: false | DnsResponderOptions;
  /** UDP to other addresses: a policy, or false for none. Default dgramNode for destinations `allow` and `deny` let through. */
  udp?: false | UdpPolicy;
}

/**
 * A whole network for the guests on `options.link` (createGateway) with node:net far sides through
 * an allow/deny policy and names from Node's resolver.
 * @throws TcpwasmError (as a rejection) for bad options.
 */
export function createNodeGateway(options: NodeGatewayOptions): Promise<Gateway> {
  const { connect, allow, deny, dns: dnsOptions, udp, ...rest } = optionsObject(options, "options");
  const lists = { ...(allow && { allow }), ...(deny && { deny }) };
  const allowed = destinationFilter(lists);
  return createGateway({
    ...rest,
    connect: connect ?? allowPolicy(lists),
    dns: dnsOptions === false ? false : { lookup: nodeLookup, ...dnsOptions },
    ...(udp !== false && { udp: udp ?? ((info, reply) => (allowed(info) ? dgramNode(info, reply) : "drop")) }),
  });
}

// createGateway: one object that gives the guests on an Ethernet link a whole network, the shape of
// slirp or a home router. A stack on the link at the gateway's address, attached in gateway mode
// (anyDestination, router: IPv6 router advertisements when it has an IPv6 prefix), with
//   - DHCP (serveDhcp): addresses from the gateway's IPv4 prefix, the gateway as router and DNS
//     server, and the link's MTU as option 26 (RFC 2132 5.1) when it is not Ethernet's 1500;
//   - DNS (serveDns) on every address, so a query to any address reaches it (answered from that
//     address: a guest configured with another resolver still gets answers);
//   - the forwarder (serveForwarder): each TCP connection to any address goes to `connect`, which
//     refuses it or returns the far side to splice it to;
//   - UDP to any other address by flow to `udp` (serveUdpForwarder), when given;
//   - ICMP echo to any address answered, unless `echo: false`.
// The gateway's own address stands for the host behind it when `hostLoopback` maps it (slirp's
// 10.0.2.2): connections to it on ports nobody listens on go to `connect` with localAddress set to
// that loopback address. Browser-safe; tcpwasm/node adds node:net and node:dns defaults
// (node-gateway.ts createNodeGateway).
import { TcpwasmError } from "../core/errors.js";
import type { ConnectionOptions } from "../core/settings.js";
import { invalidValue, optionsObject, validateArray, validateBoolean, validateFunction, validateKnownKeys } from "../core/validate.js";
import { parsePrefix, formatPrefixAddress } from "../net/prefix.js";
import type { DhcpServerOptions } from "../net/dhcp-server.js";
import type { DnsResponderOptions } from "../net/dns-responder.js";
import { checkedFraming, checkedLinkMtu, DEFAULT_MTU, validateLink, type Link } from "../net/link.js";
import { createStack, type Stack, type StackOptions } from "../tcp/stack.js";
import { serveDhcp, type DhcpService } from "../services/serve-dhcp.js";
import { serveDns, type DnsService } from "../services/serve-dns.js";
import { serveForwarder, type Forwarder, type ForwardInfo, type ForwardPolicy } from "./forwarder.js";
import { serveUdpForwarder, type UdpForwarder, type UdpPolicy } from "./udp-forward.js";

/** Options of createGateway. */
export interface GatewayOptions {
  /** The guests' Ethernet link (framing "ethernet"): a TAP device's, a WebSocket's, a bridge port. */
  link: Link;
  /** The gateway's addresses with their prefixes. Default ["10.0.2.2/24"]; add "fd00::2/64" for IPv6 (SLAAC from its advertisements). */
  address?: string | string[];
  /** The gateway's MAC on the link. Default: a random locally administered one. */
  mac?: string;
  /** DHCP: the server's options over the defaults (pool: the IPv4 prefix; routers and dnsServers: the gateway; mtu: the link's), or false for none. */
  dhcp?: false | Partial<DhcpServerOptions>;
  /** DNS: the responder's options (lookup, names, ttl), or false for none. Default: answers only `names` (none: every name is unknown). */
  dns?: false | DnsResponderOptions;
  /** Where each TCP connection goes: a refusal or a far side (serveForwarder). */
  connect: ForwardPolicy;
  /** Where each UDP flow to another address goes (serveUdpForwarder); DNS is answered by the gateway itself. Default: none (ICMP port unreachable). */
  udp?: UdpPolicy;
  /** How long a far side may take to connect, ms. Default 20,000. */
  connectTimeoutMs?: number;
  /** Connections spliced at once. Default 4,096. */
  maxConnections?: number;
  /** Options of the guests' connections on the gateway's side (buffers, Nagle, keepalive). */
  connection?: ConnectionOptions;
  /** Answer echo requests to any address. Default true. */
  echo?: boolean;
  /**
   * The loopback address the gateway's own IPv4 address stands for ("127.0.0.1"), and its own IPv6
   * address ("::1"): a guest's connection to the gateway goes to `connect` with this as its localAddress.
   * Default none: the gateway's ports nobody listens on are refused.
   */
  hostLoopback?: { v4?: string; v6?: string };
  /** The stack's own options (name, config, flavor, clock, trace). */
  stack?: Omit<StackOptions, "addresses">;
}

/** A running gateway (createGateway). */
export interface Gateway {
  /** The gateway's stack: open listeners on it for services of your own, read its counters. */
  readonly stack: Stack;
  /** The forwarder: its counters say what the guests asked for and what was spliced or refused. */
  readonly forwarder: Forwarder;
  /** The DHCP server (leases, counters), undefined with `dhcp: false` or no IPv4 address. */
  readonly dhcp: DhcpService | undefined;
  /** The DNS responder (counters), undefined with `dns: false`. */
  readonly dns: DnsService | undefined;
  /** The UDP forwarder, undefined without `udp`. */
  readonly udp: UdpForwarder | undefined;
  /** Stops everything and closes the stack (its connections are reset) and the link. */
  close(): void;
}

const KNOWN: ReadonlySet<string> = new Set([
  "link", "address", "mac", "dhcp", "dns", "connect", "udp", "connectTimeoutMs", "maxConnections", "connection", "echo", "hostLoopback", "stack",
]);

/**
 * A whole network for the guests on `options.link`: DHCP, DNS, router advertisements, TCP to any
 * address through `options.connect`, echo replies.
 * @throws TcpwasmError (as a rejection) ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const o = optionsObject(options, "options");
  validateKnownKeys(o as unknown as Record<string, unknown>, "options", KNOWN);
  validateLink(o.link, "options.link");
  if (checkedFraming(o.link) !== "ethernet") invalidValue("options.link", o.link.framing ?? "ip", 'must be an Ethernet link (framing "ethernet")');
  validateFunction(o.connect, "options.connect");
  const addresses = o.address === undefined ? ["10.0.2.2/24"] : Array.isArray(o.address) ? o.address : [o.address];
  validateArray(addresses, "options.address", undefined, 1);
  const prefixes = addresses.map((a, i) => parsePrefix(a, `options.address[${i}]`));
  if (o.echo !== undefined) validateBoolean(o.echo, "options.echo");
  const loop = optionsObject(o.hostLoopback, "options.hostLoopback");
  const v4 = prefixes.find((p) => p.version === 4);
  const v6 = prefixes.find((p) => p.version === 6);
  const own = { 4: v4 && formatPrefixAddress(v4), 6: v6 && formatPrefixAddress(v6) };
  if (o.udp !== undefined) validateFunction(o.udp, "options.udp");
  const connect = o.connect;
  /** The destination a policy sees: the gateway's own address is the host's loopback, or nothing. */
  const mapped = (info: ForwardInfo): ForwardInfo | undefined => {
    const version = info.localAddress.includes(":") ? 6 : 4;
    if (info.localAddress !== own[version]) return info;
    const to = version === 4 ? loop.v4 : loop.v6;
    return to === undefined ? undefined : { ...info, localAddress: to };
  };
  const policy: ForwardPolicy = (info) => {
    const m = mapped(info);
    return m ? connect(m) : "reset";
  };
  const udpPolicy = o.udp;

  const stack = await createStack({ name: "gateway", ...o.stack, addresses });
  try {
    stack.attach(o.link, {
      mac: o.mac,
      router: v6 !== undefined,
      anyDestination: { echo: o.echo ?? true },
    });
    const forwarder = serveForwarder(stack, {
      connect: policy,
      ...(o.connectTimeoutMs !== undefined && { connectTimeoutMs: o.connectTimeoutMs }),
      ...(o.maxConnections !== undefined && { maxConnections: o.maxConnections }),
      ...(o.connection !== undefined && { connection: o.connection }),
    });
    let dhcp: DhcpService | undefined;
    if (o.dhcp !== false && v4) {
      const mtu = checkedLinkMtu(o.link) ?? DEFAULT_MTU;
      const server = own[4]!;
      dhcp = serveDhcp(stack, {
        link: o.link,
        serverAddress: server,
        pool: `${formatPrefixAddress({ ...v4, bytes: network(v4.bytes, v4.length) })}/${v4.length}`,
        ...(o.dns !== false && { dnsServers: [server] }),
        ...(mtu !== DEFAULT_MTU && { mtu }),
        ...o.dhcp,
      });
    }
    const dns = o.dns === false ? undefined : serveDns(stack, { ...o.dns });
    const udp = udpPolicy && serveUdpForwarder(stack, {
      forward: (info, reply) => {
        const m = mapped(info);
        return m ? udpPolicy(m, reply) : "drop";
      },
    });
    return {
      stack,
      forwarder,
      dhcp,
      dns,
      udp,
      close() {
        udp?.close();
        forwarder.close();
        dhcp?.close();
        dns?.close();
        stack.close();
      },
    };
  } catch (error) {
    stack.close();
    throw error instanceof TcpwasmError ? error : new TcpwasmError("EINVAL", String(error));
  }
}

/** The network address of an IPv4 prefix. */
function network(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < 4; i++) {
    const keep = Math.max(0, Math.min(8, length - i * 8));
    out[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

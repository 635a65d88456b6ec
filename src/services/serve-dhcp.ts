// serveDhcp: a DHCP server (src/net/dhcp-server.ts, RFC 2131/2132) bound to a stack's Ethernet link:
// it hears UDP port 67 on that link, broadcasts included, and sends each reply where RFC 2131 4.1
// says: to 255.255.255.255 at ff:ff:ff:ff:ff:ff when the client set the broadcast bit or has no
// address yet, else to the offered address at the client's own MAC (chaddr) without ARP, since the
// client cannot answer for an address it does not hold yet; to a relay agent (giaddr) as any other
// packet. The server itself decides where (DhcpReply); this file only carries it. Browser-safe.
import { invalidType, invalidValue, validateKnownKeys, validateObject } from "../core/validate.js";
import { createDhcpServer, type DhcpServerOptions } from "../net/dhcp-server.js";
import type { DhcpLease, DhcpServerCounters } from "../net/dhcp-pool.js";
import type { Link } from "../net/link.js";
import { Stack } from "../tcp/stack.js";
import type { StackUdpSocket } from "../tcp/udp.js";

/** Options of serveDhcp: the server's (pool, serverAddress, routers, ...) and the link it serves. */
export interface ServeDhcpOptions extends DhcpServerOptions {
  /** The attached Ethernet link (framing "ethernet") whose clients it serves. */
  link: Link;
}

/** A DHCP server running on a stack (serveDhcp). */
export interface DhcpService {
  /** The server's counters now (a copy), malformed requests by reason included. */
  readonly counters: DhcpServerCounters & {
    /** Replies the stack could not send: no route to a relay, or larger than the link's MTU. */
    unsent: number;
  };
  /** The pool addresses in use now, on the stack's clock. */
  leases(): DhcpLease[];
  /** Stops serving: port 67 closes. Leases are forgotten. */
  close(): void;
}

const DHCP_SERVER_PORT = 67;
const SERVE_KEYS: ReadonlySet<string> = new Set([
  "link", "serverAddress", "pool", "subnet", "reserved", "routers", "dnsServers", "domainName", "leaseTimeSeconds",
  "renewalTimeSeconds", "rebindingTimeSeconds", "mtu", "broadcastAddress", "offerHoldMs", "maxOffers", "declineHoldMs",
]);

/** "aa:bb:cc:dd:ee:ff" for six octets. */
function macText(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(":");
}

/**
 * Serves DHCP on `options.link`, which `stack` must have attached with Ethernet framing; the server's
 * time is the stack's clock.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options
 * (the server's own checks, src/net/dhcp-server.ts; a link that is not attached or not Ethernet),
 * EADDRINUSE when port 67 is taken on the stack.
 */
export function serveDhcp(stack: Stack, options: ServeDhcpOptions): DhcpService {
  if (!(stack instanceof Stack)) invalidType("stack", "an instance of Stack (from createStack)", stack);
  validateObject(options, "options");
  validateKnownKeys(options, "options", SERVE_KEYS);
  const { link, ...serverOptions } = options as ServeDhcpOptions;
  validateObject(link, "options.link");
  // Replies to a client without an address go to its MAC (RFC 2131 4.1): only an Ethernet link has one.
  if (link.framing !== "ethernet") invalidValue("options.link", link.framing ?? "ip", 'must be an Ethernet link (framing "ethernet")');
  const server = createDhcpServer(serverOptions);
  let unsent = 0;
  const socket: StackUdpSocket = stack.openUdp({ localPort: DHCP_SERVER_PORT, link }, (m) => {
    const reply = server.handle(m.data, stack.time());
    if (reply === null) return;
    try {
      const sent = reply.destinationMac
        ? socket.send(reply.bytes, reply.destinationIp, reply.destinationPort, { mac: macText(reply.destinationMac) })
        : socket.send(reply.bytes, reply.destinationIp, reply.destinationPort);
      if (!sent) unsent++;
    } catch {
      // EMSGSIZE on a link narrower than the reply (the client's option 57 allowed it): the client asks again.
      unsent++;
    }
  });
  return {
    get counters() {
      return { ...server.counters, unsent };
    },
    leases: () => server.leases(stack.time()),
    close: () => socket.close(),
  };
}

// What a packet-mode client of `tcpwasm relay` is joined to (RelayPacketOptions.attach):
//
// - a stack of its own in the relay's process, holding `addresses` (10.0.0.1/24, fd00::1/64), whose
//   forwarded ports splice to node:net destinations: a page connecting to 10.0.0.1:80 reaches
//   127.0.0.1:8000 on the relay's machine, IPv4 or IPv6 inside the tunnel alike. Every forward's
//   destination still passes the relay's allow-list when a connection comes in, and is logged. The
//   other way, a connection to a port the client published is opened from this stack to the page's
//   address (`connect`), so a server in the page is reachable from the relay's machine.
// - a UDP endpoint: each client's packets go to host:port as one datagram each (the framing of
//   socat's TUN/TAP relay, TCP.md), so a tab becomes a host on a namespace's network.
import net from "node:net";
import { invalidValue } from "../core/validate.js";
import { TcpwasmError } from "../core/errors.js";
import { splice } from "../gateway/splice.js";
import type { Link } from "../net/link.js";
import { createUdpLink, parseEndpoint, type UdpEndpoint } from "../net/udp-link.js";
import { createStack } from "../tcp/stack.js";
import type { InboundEvents, PacketAttachment, RelayClient, RelayContext } from "./relay.js";

/** One forwarded port: connections to the stack's `port` go to host:destPort. */
export interface RelayForward {
  /** The port the client-side stack listens on. */
  port: number;
  /** The destination host (checked against the allow-list at each connection). */
  host: string;
  /** The destination port. */
  destPort: number;
}

/** Parses "PORT=HOST:PORT" ("80=127.0.0.1:8000", "8080=[::1]:8080"). */
export function parseForward(text: string, what: string): RelayForward {
  const eq = text.indexOf("=");
  const port = Number(text.slice(0, eq));
  if (eq <= 0 || !/^\d{1,5}$/.test(text.slice(0, eq)) || port < 1 || port > 65535) invalidValue(what, text, "must be PORT=HOST:PORT (ports 1..65535)");
  const dest = parseEndpoint(text.slice(eq + 1), what);
  if (dest.port === 0) invalidValue(what, text, "must not forward to port 0");
  return { port, host: dest.host, destPort: dest.port };
}

/** A stack per client with `addresses`, splicing each forwarded port to node:net. */
export function stackAttach(addresses: string[], forwards: RelayForward[]) {
  return async (link: Link, client: RelayClient, relay: RelayContext): Promise<PacketAttachment> => {
    const stack = await createStack({ addresses, name: `relay-${client.address}:${client.port}` });
    stack.attach(link);
    // Each forwarded connection is spliced to its node:net destination (splice.ts): the relay reads
    // the destination only while the connection's send ring has room, and writes what the page sends
    // in the chunks the engine hands over, with no stream buffering between the two.
    const listeners = forwards.map((f) => stack.openListener({ port: f.port }, (conn) => {
      // Nothing is read from the page before the allow-list has answered.
      conn.pause();
      const entry = { mode: "packet" as const, client: client.address, origin: client.origin, host: f.host, port: f.destPort };
      let outer: net.Socket | undefined;
      conn.onClose = () => outer?.destroy();
      void relay.check(f.host, f.destPort).then((verdict) => {
        if (conn.isClosed) return;
        if (!verdict.allowed) {
          relay.log({ event: "refused", ...entry, reason: verdict.reason });
          conn.release();
          return;
        }
        const d = verdict.destination;
        const socket = net.connect({ host: d.address, port: f.destPort, family: d.family, allowHalfOpen: true });
        outer = socket;
        // The page's stack already decided how to segment what it sends.
        socket.setNoDelay(true);
        const failed = (err: NodeJS.ErrnoException) => {
          relay.log({ event: "close", ...entry, address: d.address, reason: err.code ?? "error", up: 0, down: 0 });
          conn.abort();
        };
        socket.once("error", failed);
        socket.once("connect", () => {
          socket.off("error", failed);
          relay.log({ event: "open", ...entry, address: d.address });
          // Bytes, half-close, backpressure and resets both ways.
          splice(conn, socket, (result) => {
            const reason = result.error ? ((result.error as NodeJS.ErrnoException).code ?? result.error.message) : "closed";
            relay.log({ event: "close", ...entry, address: d.address, reason, up: result.up, down: result.down });
          });
          conn.resume();
        });
      });
    }));
    return {
      detach() {
        for (const l of listeners) l.close();
        stack.close();
      },
      connect(far: net.Socket, to: { address: string; port: number }, events: InboundEvents) {
        // Nothing is read from the host's side before the page answered (the socket came paused).
        const conn = stack.openConnection({ remote: to.address, remotePort: to.port });
        let connected = false;
        conn.onConnect = () => {
          connected = true;
          events.onOpen();
          splice(conn, far, events.onDone);
          far.resume();
        };
        conn.onClose = (error) => {
          // Closed before it connected: the page refused (RST: ECONNREFUSED), never answered, or was given up.
          far.resetAndDestroy();
          events.onDone({ up: 0, down: 0, error: error ?? new TcpwasmError("ECONNRESET", `${conn.describe()}: closed before it connected`) });
        };
        // The host's side gone before the page answered: the SYN's retries stop.
        far.once("close", () => {
          if (!connected) conn.abort();
        });
        return () => conn.abort();
      },
    };
  };
}

/** Each client's packets to a UDP endpoint (and back), from a socket bound to `bind` (default: a free port). */
export function udpAttach(peer: UdpEndpoint, bind?: UdpEndpoint) {
  return async (link: Link): Promise<() => void> => {
    // An Ethernet frame is its IP MTU plus a 14-byte header, all in one datagram.
    const udp = await createUdpLink({ peer, bind, mtu: (link.mtu ?? 1500) + (link.framing === "ethernet" ? 14 : 0) });
    udp.onReceive((packets) => link.send(packets));
    link.onReceive((packets) => udp.send(packets));
    return () => udp.close();
  };
}

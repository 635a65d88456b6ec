// The links a stack is attached to and the routes over them: each packet out goes to the link whose
// route prefix holds its destination with the longest prefix, queued there and sent as one batch per
// link. Browser-safe.
import { TcpwasmError } from "../core/errors.js";
import { invalidValue } from "../core/validate.js";
import { checkedFraming, checkedLinkMtu, checkedOffloadMtu, validateLink, type Link } from "./link.js";
import { destinationAt, parsePrefix, prefixHolds, type Prefix } from "./prefix.js";

/** IPv6's minimum link MTU (RFC 8200 5): a narrower link carries IPv4 only. */
export const IPV6_MIN_MTU = 1280;

/** Links a stack can be attached to at once: the core's interface table (assembly/engine/iface.ts MAX_IFACES). */
export const MAX_LINKS = 8;
/** Route prefixes per link (assembly/engine/iface.ts MAX_ROUTES). */
export const MAX_ROUTES_PER_LINK = 8;

export interface AttachedLink {
  link: Link;
  /** The core's interface index: the link's position in attach order. */
  ifIndex: number;
  /** Raw IP packets, or Ethernet frames (the core frames and resolves; never routed here). */
  framing: "ip" | "ethernet";
  /** The stack's MAC address on an Ethernet link. */
  mac?: Uint8Array;
  /** The link's MTU, 0 when it states none (the engine's config mtu applies). */
  mtu: number;
  /** The link's offload MTU (Link.offloadMtu), 0 when it has none. */
  offloadMtu: number;
  /** Below IPv6's minimum MTU: IPv6 neither routed to it nor taken from it. */
  ipv4Only: boolean;
  routes: Prefix[];
  /** Both default routes: every packet goes here when this is the only link. */
  routesAll: boolean;
  /** Packets queued for the next send. */
  batch: Uint8Array[];
}

export class Routes {
  readonly links: AttachedLink[] = [];

  /**
   * Adds `link` with its destination prefixes (default everything; IPv4 only on a link whose MTU is
   * below IPv6's minimum). Throws on a bad link, MTU or route, and on a link already attached.
   */
  attach(link: Link, routeTexts: readonly string[] | undefined, defaultMtu: number): AttachedLink {
    validateLink(link, "link");
    if (this.links.some((l) => l.link === link)) invalidValue("link", "the same link", "is already attached to this stack");
    const mtu = checkedLinkMtu(link);
    const framing = checkedFraming(link);
    const offloadMtu = checkedOffloadMtu(link, mtu ?? defaultMtu);
    if (this.links.length >= MAX_LINKS) throw new TcpwasmError("ERR_OUT_OF_RANGE", `a stack takes at most ${MAX_LINKS} links`);
    const ipv4Only = mtu !== undefined && mtu < IPV6_MIN_MTU;
    const routes = (routeTexts ?? (ipv4Only ? ["0.0.0.0/0"] : ["0.0.0.0/0", "::/0"])).map((r, i) => parsePrefix(r, `options.routes[${i}]`));
    if (ipv4Only && routes.some((r) => r.version === 6)) {
      throw new TcpwasmError("ERR_INVALID_ARG_VALUE", `link.mtu ${mtu} is below IPv6's minimum of ${IPV6_MIN_MTU}: the link carries IPv4 only and takes no IPv6 route`);
    }
    if (routes.length > MAX_ROUTES_PER_LINK) throw new TcpwasmError("ERR_OUT_OF_RANGE", `options.routes takes at most ${MAX_ROUTES_PER_LINK} prefixes, got ${routes.length}`);
    const routesAll = routes.some((r) => r.version === 4 && r.length === 0) && routes.some((r) => r.version === 6 && r.length === 0);
    const attached: AttachedLink = { link, ifIndex: this.links.length, framing, mtu: mtu ?? 0, offloadMtu, ipv4Only, routes, routesAll, batch: [] };
    this.links.push(attached);
    return attached;
  }

  /** Whether some attached link routes `address`. */
  routes(version: 4 | 6, address: Uint8Array): boolean {
    for (const l of this.links) {
      if (l.routesAll) return true;
      for (const r of l.routes) if (prefixHolds(r, version, address, 0)) return true;
    }
    return false;
  }

  /** The link whose route holds the address at `bytes[at]` with the longest prefix. */
  routeTo(version: 4 | 6, bytes: Uint8Array, at: number): AttachedLink | undefined {
    let best: AttachedLink | undefined;
    let bestLength = -1;
    for (const l of this.links) {
      for (const r of l.routes) {
        if (r.length > bestLength && prefixHolds(r, version, bytes, at)) {
          best = l;
          bestLength = r.length;
        }
      }
    }
    return best;
  }

  /** Queues `packet` on the link routing its destination; false when none does. */
  queue(packet: Uint8Array): boolean {
    const links = this.links;
    let link: AttachedLink | undefined;
    if (links.length === 1 && links[0]!.routesAll) link = links[0];
    else {
      const at = destinationAt(packet);
      if (at >= 0) link = this.routeTo(at === 16 ? 4 : 6, packet, at);
    }
    // An Ethernet link takes frames the core built (Stack#sendPacket): an IP packet routed to one
    // here would be a disagreement between the two route tables, never sent unframed.
    if (!link || link.framing === "ethernet") return false;
    link.batch.push(packet);
    return true;
  }

  /** Sends each link's queued packets as one batch. */
  sendQueued(): void {
    for (const l of this.links) {
      if (l.batch.length === 0) continue;
      const batch = l.batch;
      l.batch = [];
      l.link.send(batch);
    }
  }

  /** Closes every link and forgets them. */
  closeAll(): void {
    for (const l of this.links) l.link.close();
    this.links.length = 0;
  }
}

// A stack's own addresses ("10.0.0.1/24", "fd00::1/64"): which packets are for us, which address a
// connection speaks from, and the wildcard a listener on all of them shows. Every stack also owns the
// loopback addresses, 127.0.0.0/8 and ::1 (RFC 1122 3.2.1.3, RFC 4291 2.5.3), reached without a link
// (src/tcp/stack.ts loops them back). Browser-safe.
import { TcpwasmError } from "../core/errors.js";
import { destinationAt, formatPrefixAddress, isLoopback, parsePrefix, prefixHolds, sameAddress, type Prefix } from "./prefix.js";
import { formatIpv4, formatIpv6 } from "../core/address.js";

export class LocalAddresses {
  /** The addresses with their prefix lengths ("10.0.0.1/24"); a bare address shows its /32 or /128. */
  readonly texts: readonly string[];
  /** The addresses with their on-link prefix lengths. */
  readonly prefixes: Prefix[];
  /** Each address's text without its prefix length, formatted once (every connect asks for one). */
  private readonly addressTexts = new Map<Prefix, string>();

  /** Parses `texts` (named `name[i]` in errors). */
  constructor(texts: readonly string[], name: string) {
    this.prefixes = texts.map((a, i) => parsePrefix(a, `${name}[${i}]`));
    this.texts = texts.map((t, i) => (t.includes("/") ? t : `${t}/${this.prefixes[i]!.length}`));
  }

  /** Whether the stack has an address of this IP version. */
  has(version: 4 | 6): boolean {
    return this.prefixes.some((p) => p.version === version);
  }

  /**
   * The address a listener on all of the stack's addresses shows (node:net's and Direct Sockets'
   * unspecified address): "::" when the stack has IPv6 (a dual-stack listener), else "0.0.0.0".
   */
  wildcard(): string {
    return this.has(6) ? "::" : "0.0.0.0";
  }

  /** Whether the packet's destination is one of the addresses (not loopback: see `loopsBack`). */
  isForUs(packet: Uint8Array): boolean {
    const at = destinationAt(packet);
    if (at < 0) return false;
    return this.isOwn(at === 16 ? 4 : 6, packet, at);
  }

  /** Whether the address at `bytes[at]` is one of the configured addresses. */
  isOwn(version: 4 | 6, bytes: Uint8Array, at: number): boolean {
    for (const x of this.prefixes) if (x.version === version && sameAddress(x.bytes, bytes, at)) return true;
    return false;
  }

  /**
   * Whether a packet to the address at `bytes[at]` stays in this stack: a loopback address or one of
   * its own (a host's packets to itself never reach a link, RFC 1122 3.2.1.3 and 3.3.4.2).
   */
  loopsBack(version: 4 | 6, bytes: Uint8Array, at: number): boolean {
    return isLoopback(version, bytes, at) || this.isOwn(version, bytes, at);
  }

  /** The stack's own text for `bytes`, or EADDRNOTAVAIL (`text` as the caller gave it, named `name`). */
  own(version: 4 | 6, bytes: Uint8Array, text: string, name: string): string {
    if (isLoopback(version, bytes, 0)) return version === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
    for (const p of this.prefixes) {
      if (p.version === version && sameAddress(p.bytes, bytes, 0)) return this.text(p);
    }
    throw new TcpwasmError("EADDRNOTAVAIL", `${name}: ${text} is not an address of this stack (${this.texts.join(", ")})`);
  }

  /**
   * The address facing `remote`: loopback for loopback, the address itself for one of ours, else the
   * first of its version whose prefix holds it, else the first of its version.
   */
  sourceFor(version: 4 | 6, remote: Uint8Array): string {
    // To loopback, from 127.0.0.1 or ::1 (as Linux's local route for 127.0.0.0/8 gives it); to one of
    // our own addresses, from that address.
    if (isLoopback(version, remote, 0)) return version === 4 ? "127.0.0.1" : "::1";
    for (const p of this.prefixes) if (p.version === version && sameAddress(p.bytes, remote, 0)) return this.text(p);
    let first: Prefix | undefined;
    for (const p of this.prefixes) {
      if (p.version !== version) continue;
      if (prefixHolds(p, version, remote, 0)) return this.text(p);
      first ??= p;
    }
    if (!first) throw new TcpwasmError("EADDRNOTAVAIL", `the stack has no IPv${version} address`);
    return this.text(first);
  }

  private text(p: Prefix): string {
    let text = this.addressTexts.get(p);
    if (text === undefined) this.addressTexts.set(p, (text = formatPrefixAddress(p)));
    return text;
  }
}

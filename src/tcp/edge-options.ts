// Stack.attach's options for an Ethernet link (mac, gateway, router), checked: they make sense only
// on a link whose framing is "ethernet", and a gateway must be a next hop on the link (inside one of
// the stack's own prefixes, or IPv6 link-local), one per IP version. Browser-safe.
import type { AddressBytes } from "../core/address.js";
import { validateAddress } from "../core/address.js";
import { invalidValue, validateBoolean } from "../core/validate.js";
import type { LocalAddresses } from "../net/addresses.js";
import { parseMac, randomMac } from "../net/mac.js";
import { prefixHolds } from "../net/prefix.js";
import type { AttachOptions } from "./options.js";

/** An Ethernet link's settings as the core takes them. */
export interface EdgeSettings {
  mac: Uint8Array;
  gateways: AddressBytes[];
  router: boolean;
}

/**
 * The checked settings for an Ethernet link, undefined for a raw-IP one.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE or ERR_INVALID_ARG_VALUE for a bad option, or an Ethernet
 * option on a raw-IP link.
 */
export function validateEdgeOptions(o: AttachOptions, ethernet: boolean, local: LocalAddresses): EdgeSettings | undefined {
  if (!ethernet) {
    for (const key of ["mac", "gateway", "router"] as const) {
      if (o[key] !== undefined) invalidValue(`options.${key}`, o[key], 'applies only to a link whose framing is "ethernet"');
    }
    return undefined;
  }
  const mac = o.mac === undefined ? randomMac() : parseMac(o.mac, "options.mac");
  if (o.router !== undefined) validateBoolean(o.router, "options.router");
  const texts = o.gateway === undefined ? [] : Array.isArray(o.gateway) ? o.gateway : [o.gateway];
  if (texts.length > 2) invalidValue("options.gateway", o.gateway, "takes at most one IPv4 and one IPv6 address");
  const gateways: AddressBytes[] = [];
  texts.forEach((text, i) => {
    const name = Array.isArray(o.gateway) ? `options.gateway[${i}]` : "options.gateway";
    const a = validateAddress(text, name);
    if (gateways.some((g) => g.version === a.version)) invalidValue(name, text, `is a second IPv${a.version} gateway (one per IP version)`);
    const linkLocal = a.version === 6 && a.bytes[0] === 0xfe && (a.bytes[1]! & 0xc0) === 0x80;
    if (!linkLocal && !local.prefixes.some((p) => prefixHolds(p, a.version, a.bytes, 0))) {
      invalidValue(name, text, `is not on the link: outside the stack's prefixes (${local.texts.join(", ")})`);
    }
    if (local.prefixes.some((p) => p.version === a.version && p.bytes.every((b, k) => b === a.bytes[k]))) {
      invalidValue(name, text, "is one of the stack's own addresses");
    }
    gateways.push(a);
  });
  return { mac, gateways, router: o.router ?? false };
}

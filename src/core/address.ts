// IP addresses as text: dotted quads and RFC 5952 IPv6 text, parsed and formatted without the engine.
import { invalidType, invalidValue, validateString } from "./validate.js";

/** Dotted-quad text of 4 bytes. */
export function formatIpv4(b: Uint8Array): string {
  if (!(b instanceof Uint8Array) || b.length < 4) invalidType("bytes", "a Uint8Array of 4 bytes", b);
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/**
 * RFC 5952 text of 16 bytes: lowercase hex without leading zeros, the longest run of two or more
 * zero groups (the first on a tie) as "::", and IPv4-mapped addresses as ::ffff:a.b.c.d (section 5).
 */
export function formatIpv6(b: Uint8Array): string {
  if (!(b instanceof Uint8Array) || b.length < 16) invalidType("bytes", "a Uint8Array of 16 bytes", b);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(b.subarray(12, 16))}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** The 4 bytes of a dotted-quad IPv4 address (no leading zeros, which some parsers read as octal). */
export function parseIpv4(text: string): Uint8Array | null {
  if (typeof text !== "string") invalidType("text", "of type string", text);
  // One pass over the characters: every connect parses addresses, and split/regex showed in churn.
  const n = text.length;
  if (n < 7 || n > 15) return null;
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part === 4) return null;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return null; // a leading zero ("01") is not dotted-decimal
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return null;
    } else {
      return null;
    }
  }
  return part === 4 ? out : null;
}

/** The 16 bytes of an IPv6 address in RFC 4291 2.2 text form (with "::" and a dotted IPv4 tail). */
export function parseIpv6(text: string): Uint8Array | null {
  if (typeof text !== "string") invalidType("text", "of type string", text);
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string, allowV4Tail: boolean): number[] | null => {
    if (part === "") return [];
    const items = part.split(":");
    const out: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (allowV4Tail && i === items.length - 1 && item.includes(".")) {
        const v4 = parseIpv4(item);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  let groups: number[];
  if (halves.length === 2) {
    const head = groupsOf(halves[0]!, false);
    const tail = groupsOf(halves[1]!, true);
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = groupsOf(text, true);
    if (!all || all.length !== 8) return null;
    groups = all;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** An IP address's version and bytes (4 or 16). */
export interface AddressBytes {
  /** 4 or 6. */
  version: 4 | 6;
  /** The address in network byte order: 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
}

/** @internal Text to an IPv4 or IPv6 address, or null when it is neither: the one address-text parser of the host. */
export function parseAddress(text: string): AddressBytes | null {
  const v4 = parseIpv4(text);
  if (v4) return { version: 4, bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6) return { version: 6, bytes: v6 };
  return null;
}

/** @internal An IPv4 or IPv6 address in text form: its version and bytes. */
export function validateAddress(value: unknown, name: string): AddressBytes {
  validateString(value, name);
  return parseAddress(value) ?? invalidValue(name, value, "must be an IPv4 or IPv6 address");
}

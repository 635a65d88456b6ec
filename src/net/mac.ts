// Ethernet MAC addresses as text ("02:00:00:00:00:01") and bytes, for an Ethernet link's station
// address (Stack.attach's `mac`). Browser-safe.
import { invalidValue, validateString } from "../core/validate.js";

const MAC_TEXT = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * The 6 bytes of a station address in colon-separated hex, named `what` in errors. A group address
 * (the I/G bit, IEEE 802 least significant bit of the first byte) or all zeros cannot be a station's.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE for a non-string, ERR_INVALID_ARG_VALUE for anything else unusable.
 */
export function parseMac(text: unknown, what: string): Uint8Array {
  validateString(text, what);
  if (!MAC_TEXT.test(text)) invalidValue(what, text, 'must be a MAC address in colon-separated hex ("02:00:00:00:00:01")');
  const bytes = Uint8Array.from(text.split(":"), (h) => parseInt(h, 16));
  if ((bytes[0]! & 1) !== 0) invalidValue(what, text, "is a group (multicast) address, which no station may hold");
  if (bytes.every((b) => b === 0)) invalidValue(what, text, "is all zeros");
  return bytes;
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(":");
}

/** A random locally administered unicast address (IEEE 802: U/L bit set, I/G bit clear). */
export function randomMac(): Uint8Array {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return bytes;
}

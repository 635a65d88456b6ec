// DNS over TCP (RFC 1035 4.2.2, RFC 7766 8): each message travels behind a two-octet length. The
// framing is its own concern: the responder and the resolver core deal in whole messages.
import { invalidValue } from "../core/validate.js";

/** A message over TCP: a two-octet length in front (RFC 1035 4.2.2, RFC 7766 8). */
export function frameDnsTcp(message: Uint8Array): Uint8Array {
  if (message.length > 0xffff) invalidValue("message", `${message.length} octets`, "must be at most 65535 octets");
  const out = new Uint8Array(2 + message.length);
  out[0] = message.length >>> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}

/**
 * Splits a TCP byte stream into DNS messages (RFC 7766 8): push what arrives, get the complete
 * messages; a partial one waits for more. Holds at most one message (65,537 octets).
 */
export class DnsTcpReader {
  #buffer = new Uint8Array(0);

  /** Adds received octets; returns the messages they complete, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    const out: Uint8Array[] = [];
    let at = 0;
    while (at + 2 <= joined.length) {
      const length = (joined[at] << 8) | joined[at + 1];
      if (at + 2 + length > joined.length) break;
      out.push(joined.slice(at + 2, at + 2 + length));
      at += 2 + length;
    }
    this.#buffer = joined.slice(at);
    return out;
  }

  /** Octets held for a message not yet complete. */
  get pending(): number {
    return this.#buffer.length;
  }
}

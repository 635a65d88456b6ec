// Stable names for the core's wire Reason codes (assembly/wire/reason.ts), mapped once, here.
// The index is the code: append only, never reorder.

/** Stable names of the reasons a packet is dropped or refused, indexed by the core's reason code (append only). */
export const REASON_NAMES = [
  "OK",
  "TRUNCATED",
  "BAD_IP_VERSION",
  "IPV4_IHL",
  "IPV4_TOTAL_LENGTH",
  "IPV4_HEADER_CHECKSUM",
  "IP_FRAGMENT",
  "IPV6_PAYLOAD_LENGTH",
  "IPV6_EXTENSION",
  "NOT_TCP",
  "TCP_DATA_OFFSET",
  "TCP_OPTION_LENGTH",
  "TCP_OPTION_OVERRUN",
  "TCP_CHECKSUM",
  "LAND",
] as const;

/** The name of a drop reason, as counted in `dropsByReason` and reported by the wire helpers. */
export type ReasonName = (typeof REASON_NAMES)[number];

/** The stable name of a Reason code; codes the table does not know (a newer core) read "UNKNOWN_<n>". */
export function reasonName(code: number): ReasonName | `UNKNOWN_${number}` {
  return code >= 0 && code < REASON_NAMES.length ? REASON_NAMES[code]! : `UNKNOWN_${code}`;
}

/** @internal The code of a Reason name (the inverse of reasonName). */
export function reasonCode(name: ReasonName): number {
  return REASON_NAMES.indexOf(name);
}

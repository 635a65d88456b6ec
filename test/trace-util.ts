// Reading trace events (src/core/trace.ts) in tests: what one endpoint sent, and whether it reached a state.
import { flagNames, type SegmentTrace, type TraceEvent } from "../src/core/trace.js";

/** The segments `endpoint` sent, in order, as "FLAGS length" ("FIN,PSH,ACK 100"). */
export function sentSegments(traces: readonly TraceEvent[], endpoint: string): string[] {
  return traces
    .filter((e): e is SegmentTrace => e.kind === "segment" && e.direction === "out" && e.endpoint === endpoint)
    .map((e) => `${flagNames(e.flags)} ${e.length}`);
}

/** Whether `endpoint` went into `state` (RFC 9293 spelling). */
export function reachedState(traces: readonly TraceEvent[], endpoint: string, state: string): boolean {
  return traces.some((e) => e.kind === "state" && e.endpoint === endpoint && e.to === state);
}

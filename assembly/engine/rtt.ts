// Round-trip time estimation and the retransmission timeout, RFC 6298.
//
// Contract
// - All times are i64 microseconds. rttInit sets RTO to the initial value (RFC 6298 2.1: 1 s, the
//   caller's choice) clamped to [minUs, maxUs]; RFC 6298 2.4 recommends a 1 s minimum and 2.5 allows
//   a maximum of at least 60 s; both are configuration the caller passes.
// - rttSample applies RFC 6298 2.2 to the first measurement (SRTT = R, RTTVAR = R/2) and 2.3 to the
//   rest (RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'| first, then SRTT = 7/8 SRTT + 1/8 R'), then
//   RTO = SRTT + max(G, K * RTTVAR) with K = 4, clamped, and clears the backoff: the backed-off RTO of
//   RFC 6298 5.5 lasts until a new valid sample re-derives it. Integer arithmetic, truncating.
// - Karn's rule (RFC 6298 3) is the caller's: never sample a retransmitted segment unless timestamps
//   (RFC 7323 4) tell the transmissions apart.
// - rttBackoff doubles RTO up to maxUs (RFC 6298 5.5) and counts the backoffs (for the retry limit).
// - G, the clock granularity, is the `granularityUs` field (after the RFC 6298 state;
//   rttInit sets DEFAULT_GRANULARITY_US, rttSetGranularity changes it). The host's clock arrives as
//   f64 milliseconds, commonly coarsened by browsers, so the default is 1 ms.

export const RTT_K: i64 = 4;
export const DEFAULT_GRANULARITY_US: i64 = 1000;

@unmanaged
export class Rtt {
  srttUs: i64;
  rttvarUs: i64;
  rtoUs: i64;
  backoff: u32;
  hasSample: bool;
  minUs: i64;
  maxUs: i64;
  granularityUs: i64;
}

// @ts-ignore: decorator
@inline function clampRto(r: Rtt, rto: i64): i64 {
  if (rto < r.minUs) rto = r.minUs;
  if (rto > r.maxUs) rto = r.maxUs;
  return rto;
}

export function rttInit(r: Rtt, initialRtoUs: i64, minUs: i64, maxUs: i64): void {
  if (maxUs < minUs) maxUs = minUs;
  r.srttUs = 0;
  r.rttvarUs = 0;
  r.backoff = 0;
  r.hasSample = false;
  r.minUs = minUs;
  r.maxUs = maxUs;
  r.granularityUs = DEFAULT_GRANULARITY_US;
  r.rtoUs = clampRto(r, initialRtoUs);
}

export function rttSetGranularity(r: Rtt, granularityUs: i64): void {
  r.granularityUs = granularityUs < 1 ? 1 : granularityUs;
}

export function rttSample(r: Rtt, sampleUs: i64): void {
  if (sampleUs < 0) sampleUs = 0;
  if (!r.hasSample) {
    // RFC 6298 2.2
    r.srttUs = sampleUs;
    r.rttvarUs = sampleUs / 2;
    r.hasSample = true;
  } else {
    // RFC 6298 2.3, in the order the RFC requires: RTTVAR uses the SRTT from before this sample.
    let delta = r.srttUs - sampleUs;
    if (delta < 0) delta = -delta;
    r.rttvarUs = (3 * r.rttvarUs + delta) / 4;
    r.srttUs = (7 * r.srttUs + sampleUs) / 8;
  }
  let variance = RTT_K * r.rttvarUs;
  r.rtoUs = clampRto(r, r.srttUs + (variance > r.granularityUs ? variance : r.granularityUs));
  r.backoff = 0;
}

export function rttBackoff(r: Rtt): void {
  let doubled = r.rtoUs > (r.maxUs >> 1) ? r.maxUs : r.rtoUs * 2;
  r.rtoUs = clampRto(r, doubled);
  r.backoff++;
}

export function rttRto(r: Rtt): i64 {
  return r.rtoUs;
}

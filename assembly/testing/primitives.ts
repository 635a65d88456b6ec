// Numeric wrappers over assembly/engine/ for the tests (test/engine/primitives.test.ts, test/engine/prim-*.test.ts).
// Structs are placed in pool memory and handed to the host as addresses.
import { poolAlloc, poolAllocUninit, poolFree, poolBytesInUse, poolBlocksInUse, poolSetLimit } from "../engine/pool";
import {
  Ring, ringSetCapacity, ringEnsure, ringRelease, ringSpace, ringWritePtr, ringWriteContig, ringCommit,
  ringReadPtr, ringReadContig, ringConsume, ringCopyOut, ringCopyIn, ringGrow, ringBytesHeld,
} from "../engine/ring";
import { rngSeed, rngNext, rngBelow } from "../engine/rng";

export function tPoolAlloc(size: u32): usize { return poolAlloc(size); }
export function tPoolAllocUninit(size: u32): usize { return poolAllocUninit(size); }
export function tPoolFree(ptr: usize, size: u32): void { poolFree(ptr, size); }
export function tPoolBytesInUse(): f64 { return <f64>poolBytesInUse(); }
export function tPoolBlocksInUse(): u32 { return poolBlocksInUse(); }
export function tPoolSetLimit(maxBytes: f64): void { poolSetLimit(maxBytes < 0 ? u64.MAX_VALUE : <u64>maxBytes); }
export function tHeapPages(): i32 { return memory.size(); }

export function tRingNew(): usize { return poolAlloc(offsetof<Ring>()); }
export function tRingDelete(r: usize): void {
  ringRelease(changetype<Ring>(r));
  poolFree(r, offsetof<Ring>());
}
export function tRingSetCapacity(r: usize, bytes: u32): void { ringSetCapacity(changetype<Ring>(r), bytes); }
export function tRingEnsure(r: usize): bool { return ringEnsure(changetype<Ring>(r)); }
export function tRingRelease(r: usize): void { ringRelease(changetype<Ring>(r)); }
export function tRingCap(r: usize): u32 { return changetype<Ring>(r).cap; }
export function tRingLen(r: usize): u32 { return changetype<Ring>(r).len; }
export function tRingBuf(r: usize): usize { return changetype<Ring>(r).buf; }
export function tRingSpace(r: usize): u32 { return ringSpace(changetype<Ring>(r)); }
export function tRingWritePtr(r: usize): usize { return ringWritePtr(changetype<Ring>(r)); }
export function tRingWriteContig(r: usize): u32 { return ringWriteContig(changetype<Ring>(r)); }
export function tRingCommit(r: usize, n: u32): void { ringCommit(changetype<Ring>(r), n); }
export function tRingReadPtr(r: usize): usize { return ringReadPtr(changetype<Ring>(r)); }
export function tRingReadContig(r: usize): u32 { return ringReadContig(changetype<Ring>(r)); }
export function tRingConsume(r: usize, n: u32): void { ringConsume(changetype<Ring>(r), n); }
export function tRingCopyOut(r: usize, offset: u32, dst: usize, n: u32): void { ringCopyOut(changetype<Ring>(r), offset, dst, n); }
export function tRingCopyIn(r: usize, offset: u32, src: usize, n: u32): void { ringCopyIn(changetype<Ring>(r), offset, src, n); }
export function tRingGrow(r: usize, cap: u32): bool { return ringGrow(changetype<Ring>(r), cap); }
export function tRingBytesHeld(): f64 { return <f64>ringBytesHeld(); }

export function tRngSeed(a: u32, b: u32, c: u32, d: u32): void { rngSeed(a, b, c, d); }
export function tRngNext(): u32 { return rngNext(); }
export function tRngBelow(n: u32): u32 { return rngBelow(n); }

import { FlowKey } from "../wire/flowkey";
import { secretSet } from "../engine/secret";
import { sipHash24, sipHash13 } from "../engine/siphash";
import { isnFor } from "../engine/isn";
import {
  tableInit, tableRelease, tableInsert, tableLookup, tableRemove, tableCount, tableBytes, listenerAdd,
  listenerRemove, listenerLookup, listenerCount,
} from "../engine/table";
import { ephemeralRange, allocEphemeralPort } from "../engine/ports";

export function tIsnSetSecret(k0: u64, k1: u64): void { secretSet(k0, k1); }
export function tSipHash24(k0: u64, k1: u64, ptr: usize, len: u32): u64 { return sipHash24(k0, k1, ptr, len); }
export function tSipHash13(k0: u64, k1: u64, ptr: usize, len: u32): u64 { return sipHash13(k0, k1, ptr, len); }

export function tFlowKeyNew(): usize { return poolAlloc(offsetof<FlowKey>()); }
export function tFlowKeyFree(k: usize): void { poolFree(k, offsetof<FlowKey>()); }
export function tFlowKeySet(k: usize, ipVersion: u32, localA: u64, localB: u64, localPort: u32,
                            remoteA: u64, remoteB: u64, remotePort: u32): void {
  let key = changetype<FlowKey>(k);
  key.ipVersion = ipVersion;
  key.localA = localA;
  key.localB = localB;
  key.localPort = localPort;
  key.remoteA = remoteA;
  key.remoteB = remoteB;
  key.remotePort = remotePort;
}
export function tFlowKeyLocalPort(k: usize): u32 { return changetype<FlowKey>(k).localPort; }
export function tIsnFor(k: usize, nowUs: i64): u32 { return isnFor(changetype<FlowKey>(k), nowUs); }
export function tTableInit(maxConnections: u32): bool { return tableInit(maxConnections); }
export function tTableRelease(): void { tableRelease(); }
export function tTableInsert(k: usize, slot: u32): bool { return tableInsert(changetype<FlowKey>(k), slot); }
export function tTableLookup(k: usize): i32 { return tableLookup(changetype<FlowKey>(k)); }
export function tTableRemove(k: usize): bool { return tableRemove(changetype<FlowKey>(k)); }
export function tTableCount(): u32 { return tableCount(); }
export function tTableBytes(): u32 { return <u32>tableBytes(); }
export function tListenerAdd(v: u32, a: u64, b: u64, port: u32, slot: u32): bool { return listenerAdd(v, a, b, port, slot); }
export function tListenerRemove(v: u32, a: u64, b: u64, port: u32): bool { return listenerRemove(v, a, b, port); }
export function tListenerLookup(v: u32, a: u64, b: u64, port: u32): i32 { return listenerLookup(v, a, b, port); }
export function tListenerCount(): u32 { return listenerCount(); }
export function tEphemeralRange(lo: u32, hi: u32): void { ephemeralRange(lo, hi); }
export function tAllocEphemeralPort(k: usize): i32 { return allocEphemeralPort(changetype<FlowKey>(k)); }

import {
  TimerTable, TimerKind, timersReset, timerSet, timerClear, timerGet, timersEarliest, timersEarliestKind,
  tqInit, tqReserve, tqRelease, tqSet, tqRemove, tqGet, tqSize, tqNextDeadline, tqPopExpired,
} from "../engine/timers";

export function tTimersNew(): usize { return poolAlloc(offsetof<TimerTable>()); }
export function tTimersFree(t: usize): void { poolFree(t, offsetof<TimerTable>()); }
export function tTimersReset(t: usize): void { timersReset(changetype<TimerTable>(t)); }
export function tTimerSet(t: usize, kind: u32, atUs: i64): void { timerSet(changetype<TimerTable>(t), <TimerKind>kind, atUs); }
export function tTimerClear(t: usize, kind: u32): void { timerClear(changetype<TimerTable>(t), <TimerKind>kind); }
export function tTimerGet(t: usize, kind: u32): i64 { return timerGet(changetype<TimerTable>(t), <TimerKind>kind); }
export function tTimersEarliest(t: usize): i64 { return timersEarliest(changetype<TimerTable>(t)); }
export function tTimersEarliestKind(t: usize): i32 { return timersEarliestKind(changetype<TimerTable>(t)); }
export function tTqInit(maxSlots: u32): bool { return tqInit(maxSlots); }
export function tTqReserve(slots: u32): bool { return tqReserve(slots); }
export function tTqRelease(): void { tqRelease(); }
export function tTqSet(slot: u32, deadlineUs: i64): void { tqSet(slot, deadlineUs); }
export function tTqRemove(slot: u32): void { tqRemove(slot); }
export function tTqGet(slot: u32): i64 { return tqGet(slot); }
export function tTqSize(): u32 { return tqSize(); }
export function tTqNextDeadline(): i64 { return tqNextDeadline(); }
export function tTqPopExpired(nowUs: i64): i32 { return tqPopExpired(nowUs); }

import { Rtt, rttInit, rttSample, rttBackoff, rttRto, rttSetGranularity } from "../engine/rtt";
import {
  Congestion, ccInit, ccOnAck, ccOnEnterRecovery, ccOnDupAckInRecovery, ccOnPartialAck, ccOnExitRecovery, ccOnRto,
  ccOnIdleRestart, ccIsFullAck, ccInitialWindow,
} from "../engine/congestion";
import { hystartInit } from "../engine/hystart";

export function tRttNew(): usize { return poolAlloc(offsetof<Rtt>()); }
export function tRttFree(r: usize): void { poolFree(r, offsetof<Rtt>()); }
export function tRttInit(r: usize, initialRtoUs: i64, minUs: i64, maxUs: i64): void { rttInit(changetype<Rtt>(r), initialRtoUs, minUs, maxUs); }
export function tRttSetGranularity(r: usize, g: i64): void { rttSetGranularity(changetype<Rtt>(r), g); }
export function tRttSample(r: usize, sampleUs: i64): void { rttSample(changetype<Rtt>(r), sampleUs); }
export function tRttBackoff(r: usize): void { rttBackoff(changetype<Rtt>(r)); }
export function tRttRto(r: usize): i64 { return rttRto(changetype<Rtt>(r)); }
export function tRttSrtt(r: usize): i64 { return changetype<Rtt>(r).srttUs; }
export function tRttVar(r: usize): i64 { return changetype<Rtt>(r).rttvarUs; }
export function tRttBackoffCount(r: usize): u32 { return changetype<Rtt>(r).backoff; }

export function tCcNew(): usize { return poolAlloc(offsetof<Congestion>()); }
export function tCcFree(c: usize): void { poolFree(c, offsetof<Congestion>()); }
export function tCcInit(c: usize, algo: u32, mss: u32): void {
  ccInit(changetype<Congestion>(c), algo, mss);
  hystartInit(changetype<Congestion>(c), false);
}
export function tCcInitialWindow(mss: u32): u32 { return ccInitialWindow(mss); }
export function tCcOnAck(c: usize, acked: u32, flightBefore: u32): void { ccOnAck(changetype<Congestion>(c), acked, flightBefore); }
export function tCcOnEnterRecovery(c: usize, flight: u32, highSeq: u32): void { ccOnEnterRecovery(changetype<Congestion>(c), flight, highSeq); }
export function tCcOnDupAckInRecovery(c: usize): void { ccOnDupAckInRecovery(changetype<Congestion>(c)); }
export function tCcOnPartialAck(c: usize, acked: u32): void { ccOnPartialAck(changetype<Congestion>(c), acked); }
export function tCcOnExitRecovery(c: usize, flight: u32): void { ccOnExitRecovery(changetype<Congestion>(c), flight); }
export function tCcOnRto(c: usize, flight: u32): void { ccOnRto(changetype<Congestion>(c), flight); }
export function tCcOnIdleRestart(c: usize): void { ccOnIdleRestart(changetype<Congestion>(c)); }
export function tCcIsFullAck(c: usize, ack: u32): bool { return ccIsFullAck(changetype<Congestion>(c), ack); }
export function tCcCwnd(c: usize): u32 { return changetype<Congestion>(c).cwnd; }
export function tCcSsthresh(c: usize): u32 { return changetype<Congestion>(c).ssthresh; }
export function tCcInRecovery(c: usize): bool { return changetype<Congestion>(c).inRecovery; }
export function tCcRecover(c: usize): u32 { return changetype<Congestion>(c).recover; }
export function tCcSetCwnd(c: usize, cwnd: u32, ssthresh: u32): void {
  changetype<Congestion>(c).cwnd = cwnd;
  changetype<Congestion>(c).ssthresh = ssthresh;
}

import {
  OooList, oooInsert, oooTake, oooSackBlocks, oooBytes, oooCount, oooClear, oooRelease,
} from "../engine/reassembly";

export function tOooNew(): usize {
  let q = poolAlloc(offsetof<OooList>());
  changetype<OooList>(q).recent = -1;
  return q;
}
export function tOooFree(q: usize): void {
  oooRelease(changetype<OooList>(q));
  poolFree(q, offsetof<OooList>());
}
export function tOooInsert(q: usize, start: u32, end: u32): bool { return oooInsert(changetype<OooList>(q), start, end); }
export function tOooTake(q: usize, rcvNxt: u32): u32 { return oooTake(changetype<OooList>(q), rcvNxt); }
export function tOooSackBlocks(q: usize, out: usize, max: u32): u32 { return oooSackBlocks(changetype<OooList>(q), out, max); }
export function tOooBytes(q: usize): u32 { return oooBytes(changetype<OooList>(q)); }
export function tOooCount(q: usize): u32 { return oooCount(changetype<OooList>(q)); }
export function tOooRecent(q: usize): i32 { return changetype<OooList>(q).recent; }
export function tOooStorage(q: usize): usize { return changetype<OooList>(q).ranges; }
export function tOooClear(q: usize): void { oooClear(changetype<OooList>(q)); }
export function tOooRelease(q: usize): void { oooRelease(changetype<OooList>(q)); }
export function tOooSetStamp(q: usize, stamp: u32): void { changetype<OooList>(q).stamp = stamp; }
/** Range i as start (low 32 bits) and end (high 32 bits), for checking the sorted layout. */
export function tOooRange(q: usize, i: u32): u64 {
  let p = changetype<OooList>(q).ranges + <usize>i * 12;
  return <u64>load<u32>(p) | (<u64>load<u32>(p, 4) << 32);
}

import {
  Scoreboard, sbSent, sbUpdate, sbIsSacked, sbPipe, sbNextLost, sbMarkLost, sbSackedBytes, sbLostBytes, sbClear,
  sbForgetSacks, sbRelease, sbStart, sbEnd, sbTsFirst, sbTsLast, sbFlags, sbDeliveredCount, sbDeliveredEnd,
  sbDeliveredTs, sbDeliveredFlags,
} from "../engine/scoreboard";

export function tSbNew(): usize { return poolAlloc(offsetof<Scoreboard>()); }
export function tSbFree(sb: usize): void {
  sbRelease(changetype<Scoreboard>(sb));
  poolFree(sb, offsetof<Scoreboard>());
}
export function tSbSent(sb: usize, seq: u32, end: u32, ts: u32): void { sbSent(changetype<Scoreboard>(sb), seq, end, ts); }
export function tSbUpdate(sb: usize, sndUna: u32, sndMax: u32, blocks: usize, n: u32): u32 {
  return sbUpdate(changetype<Scoreboard>(sb), sndUna, sndMax, blocks, n);
}
export function tSbIsSacked(sb: usize, seq: u32, end: u32): bool { return sbIsSacked(changetype<Scoreboard>(sb), seq, end); }
export function tSbPipe(sb: usize, sndUna: u32, sndMax: u32): u32 { return sbPipe(changetype<Scoreboard>(sb), sndUna, sndMax); }
export function tSbNextLost(sb: usize, mss: u32, out: usize): bool { return sbNextLost(changetype<Scoreboard>(sb), mss, out); }
export function tSbMarkLost(sb: usize, i: u32): void { sbMarkLost(changetype<Scoreboard>(sb), i); }
export function tSbSackedBytes(sb: usize): u32 { return sbSackedBytes(changetype<Scoreboard>(sb)); }
export function tSbLostBytes(sb: usize): u32 { return sbLostBytes(changetype<Scoreboard>(sb)); }
export function tSbRtxRecords(sb: usize): u32 { return changetype<Scoreboard>(sb).rtxRecords; }
export function tSbCount(sb: usize): u32 { return changetype<Scoreboard>(sb).count; }
export function tSbStart(sb: usize, i: u32): u32 { return sbStart(changetype<Scoreboard>(sb), i); }
export function tSbEnd(sb: usize, i: u32): u32 { return sbEnd(changetype<Scoreboard>(sb), i); }
export function tSbTsFirst(sb: usize, i: u32): u32 { return sbTsFirst(changetype<Scoreboard>(sb), i); }
export function tSbTsLast(sb: usize, i: u32): u32 { return sbTsLast(changetype<Scoreboard>(sb), i); }
export function tSbFlags(sb: usize, i: u32): u32 { return sbFlags(changetype<Scoreboard>(sb), i); }
export function tSbDeliveredCount(): u32 { return sbDeliveredCount(); }
export function tSbDeliveredEnd(k: u32): u32 { return sbDeliveredEnd(k); }
export function tSbDeliveredTs(k: u32): u32 { return sbDeliveredTs(k); }
export function tSbDeliveredFlags(k: u32): u32 { return sbDeliveredFlags(k); }
export function tSbStorage(sb: usize): usize { return changetype<Scoreboard>(sb).records; }
export function tSbClear(sb: usize): void { sbClear(changetype<Scoreboard>(sb)); }
export function tSbForgetSacks(sb: usize): void { sbForgetSacks(changetype<Scoreboard>(sb)); }

import { ccOnAckAt, ccSetClock, cubicW } from "../engine/congestion";

export function tCcOnAckAt(c: usize, acked: u32, flightBefore: u32, nowUs: i64, srttUs: i64): void {
  ccOnAckAt(changetype<Congestion>(c), acked, flightBefore, nowUs, srttUs);
}
export function tCcSetClock(c: usize, nowUs: i64, srttUs: i64): void { ccSetClock(changetype<Congestion>(c), nowUs, srttUs); }
export function tCubicW(c: usize, t: f64): f64 { return cubicW(changetype<Congestion>(c), t); }
export function tCubicWmax(c: usize): f64 { return changetype<Congestion>(c).wMax; }
export function tCubicK(c: usize): f64 { return changetype<Congestion>(c).k; }
export function tCubicWest(c: usize): f64 { return changetype<Congestion>(c).wEst; }
export function tCubicCwndPrior(c: usize): f64 { return changetype<Congestion>(c).cwndPrior; }

/**
 * Connection churn from primitives alone, inside WASM so a million cycles take a moment: per cycle,
 * take the per-connection structures from the pool, register the 4-tuple and a timer, touch both
 * rings, the out-of-order list and the scoreboard, then tear everything down. Returns the number of
 * cycles that failed to get memory or a table slot (0 expected).
 */
export function tChurn(cycles: u32, ringBytes: u32): u32 {
  let failures: u32 = 0;
  let key = changetype<FlowKey>(poolAlloc(offsetof<FlowKey>()));
  let blocks = poolAlloc(32);
  for (let i: u32 = 0; i < cycles; i++) {
    let snd = changetype<Ring>(poolAlloc(offsetof<Ring>()));
    let rcv = changetype<Ring>(poolAlloc(offsetof<Ring>()));
    let ooo = changetype<OooList>(poolAlloc(offsetof<OooList>()));
    let sb = changetype<Scoreboard>(poolAlloc(offsetof<Scoreboard>()));
    key.ipVersion = 4 + ((i & 1) << 1);
    key.localA = 0x0100000a;
    key.remoteA = 0x0200000a + <u64>(i >> 16);
    key.localPort = 443;
    key.remotePort = i & 0xffff;
    let slot = i & 1023;
    if (!tableInsert(key, slot)) failures++;
    tqSet(slot, <i64>i * 1000);
    ringSetCapacity(snd, ringBytes);
    ringSetCapacity(rcv, ringBytes);
    if (!ringEnsure(snd) || !ringEnsure(rcv)) failures++;
    else {
      memory.fill(ringWritePtr(snd), 0x5a, ringWriteContig(snd) >> 1);
      ringCommit(snd, ringWriteContig(snd) >> 1);
      ringCopyIn(rcv, 100, ringReadPtr(snd), 1000);
    }
    oooInsert(ooo, 1100, 2100);
    oooInsert(ooo, 3000, 3500);
    sbSent(sb, 1000, 10000, i);
    store<u32>(blocks, 2000);
    store<u32>(blocks, 3000, 4);
    sbUpdate(sb, 1000, 10000, blocks, 1);
    tqRemove(slot);
    if (!tableRemove(key)) failures++;
    ringRelease(snd);
    ringRelease(rcv);
    oooRelease(ooo);
    sbRelease(sb);
    poolFree(changetype<usize>(snd), offsetof<Ring>());
    poolFree(changetype<usize>(rcv), offsetof<Ring>());
    poolFree(changetype<usize>(ooo), offsetof<OooList>());
    poolFree(changetype<usize>(sb), offsetof<Scoreboard>());
  }
  poolFree(blocks, 32);
  poolFree(changetype<usize>(key), offsetof<FlowKey>());
  return failures;
}

// tcpwasm core: the export list, and nothing else: the boundary is numbers and pre-allocated memory.
//
// Every export takes and returns numbers; bulk data crosses through regions of linear memory that
// the core allocates once and whose addresses the host reads through the exported getters. The
// host caches Uint8Array views over `memory.buffer` and re-creates them when memory grows.

// Build identity: lets the host check it loaded the build it asked for.
export { buildFlags } from "./build";
export { scratchPtr, scratchSize } from "./scratch";
export { lentAlloc, lentFree } from "./lent";
export { onesSum, onesSumScalar, onesSumSimd, finishChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6, updateChecksum16, updateChecksum32 } from "./wire/checksum";
export { copyAndSum } from "./wire/copysum";
export { parsePacket, headersLen, emitHeaders, finishChecksums } from "./wire/packet";
export { wireSegment, wireSegmentLayout, wireParse, parseBatch, reasonCount } from "./wire/api";
export { icmpEchoReply } from "./wire/icmp";

// ---- The connection engine (assembly/engine/; host wrapper src/core/engine.ts) ----
//
// Sans-I/O: the engine never reads a clock and never does I/O. Every call that can move a timer
// takes `now`, f64 milliseconds on the host's clock (microseconds inside). Push in, poll out, one
// deadline:
//
//   1. engineConfigSet(key, value) for any ConfigKey (engine/config.ts), then write the ISN secret
//      (u64 at 0 and 8) and PRNG seed (u32 at 16..32) from crypto.getRandomValues at
//      engineParamPtr() and call engineInit() once.
//   2. Input: write packets into the RX region at engineRxPtr() (engineRxCapacity() bytes) as records
//      [u32 length][IP packet] each padded to a multiple of 4, then engineInput(count, now). Input
//      never returns packets: ACKs, RSTs, SYN,ACKs, data and ICMP echo replies queue inside.
//   3. Output: engineOutput(now) fills the TX region at engineTxPtr() from its start with records
//      [u32 length][u32 meta][16 bytes headroom][data] each padded to a multiple of 4 and returns
//      how many (meta 0: an IP packet to route; 1 + ifIndex: an Ethernet frame for that interface,
//      its header the 14 bytes before the data; 0xffffffff: held by the core, skip it; engine/emit.ts);
//      send them, then call again while engineOutputMore() is 1. Poll output after every input,
//      timers or user call.
//   4. Timers: engineTimers(now) runs whatever is due (early or repeated calls are no-ops);
//      engineNextDeadline() is the earliest deadline in ms or +Infinity. Re-read it after every call.
//   5. Events: engineEventCount() records of 64 bytes at engineEventsPtr() (layout in
//      engine/events.ts: type, code, id, then arguments); read them all, then engineEventsClear().
//      The pointer may move between calls (the buffer grows while undrained): re-read it.
//   6. User calls (engine/user.ts; RFC 9293 3.10.1-3.10.6): connCreate() gives an id in CLOSED;
//      connSetOption; connConnectMs (addresses at engineParamPtr(): local at 0, remote at 16, 16
//      bytes each, IPv4 in the first 4) or connListen (local address at 0, all zero = any). SEND:
//      write at connSendPtr(id), up to connSendSpace(id) bytes, then connSendCommitMs. RECEIVE: read
//      connRecvAvail(id) bytes at connRecvPtr(id), then connRecvConsumeMs. connCloseMs (FIN after
//      queued data; reading goes on), connAbortMs (RST), connStatus (record at engineStatusPtr()),
//      connState, and connReleaseMs when the host is done with the id. Ids carry a generation: a
//      stale id gets -EBADF. Negative returns are -error codes (engine/errors.ts, src/core/errors.ts).
//   7. engineCountersPtr(): u32 cells, drops by wire Reason then engine counters (engine/counters.ts).
//   8. UDP (engine/udp.ts documents the regions' records; engine/udpsockets.ts the port table):
//      udpBind(version, port, reuse) with the local address at engineParamPtr() (zero: any) gives a
//      socket id; udpLocalPort, udpConnect (remote at engineParamPtr()+16; port 0 disconnects),
//      udpClose. Received datagrams wait as udpRxCount() records at udpRxPtr() (udpRxUsed() bytes):
//      read them all, then udpRxClear(). To send, write records at udpTxPtr() (udpTxCapacity()
//      bytes) and call udpSend(offset, count): it returns how many it took; when fewer, drain output
//      and call again at the next record. Port unreachable errors about a connected socket's
//      datagrams arrive as UDP_ERROR events. udpCountersPtr(): u32 cells (engine/udpcounters.ts).
export { engineInit, engineRxPtr, engineRxCapacity, engineInput, engineOutput, engineOutputMore, engineTimers,
  engineNextDeadline, engineLiveConnections, engineMemoryInUse, engineTableMemory, engineTcbSize, engineTimeWaitCount,
  engineMaxConnections, connConnectMs, connSendCommitMs, connRecvConsumeMs, connCloseMs, connAbortMs,
  connReleaseMs } from "./engine/engine";
export { paramPtr as engineParamPtr, connCreate, connListen, connSendPtr, connSendSpace, connRecvPtr, connRecvAvail
  } from "./engine/user";
export { connState, connStatus, statusPtr as engineStatusPtr, connSetOption } from "./engine/status";
export { txPtr as engineTxPtr, txCapacity as engineTxCapacity } from "./engine/emit";
export { eventsPtr as engineEventsPtr, eventCount as engineEventCount, eventsClear as engineEventsClear } from "./engine/events";
export { countersPtr as engineCountersPtr, countersLength as engineCountersLength } from "./engine/counters";
export { configSet as engineConfigSet } from "./engine/config";

// ---- Interfaces (assembly/engine/edge.ts documents the protocol) ----
//
//   8. On attach, per link: ifaceConfigure(ifIndex, kind, mtu, router) (kind 1 raw IP, 2 Ethernet,
//      the MAC at engineParamPtr()), ifaceAddAddress / ifaceAddGateway / ifaceAddRoute (address or
//      prefix at engineParamPtr()), then ifaceUp(ifIndex, now) and drain output. engineInput's
//      ifIndex names the link a batch came from: an Ethernet interface's RX records are frames.
export { ifaceUp } from "./engine/engine";
export { ifaceConfigure, ifaceAddAddressExport as ifaceAddAddress, ifaceAddGateway, ifaceAddRouteExport as ifaceAddRoute,
  engineNeighbourEntryBytes, engineNeighbourCount, engineNeighbourCapacity } from "./engine/edge";
export { udpBind, udpLocalPort, udpConnect, udpClose, udpRxPtr, udpRxCapacity, udpRxCount, udpRxUsed, udpRxClear, udpTxPtr, udpTxCapacity,
  udpSend } from "./engine/udp";
export { udpCountersPtr, udpCountersLength } from "./engine/udpcounters";

// ---- Gateway mode (assembly/engine/forward.ts) ----
//
//   9. ifaceSetAnyDestination(ifIndex, flags) after ifaceConfigure (1: take any unicast destination,
//      2: also answer echo requests to any). connListenAny(id, version, backlog) opens the
//      any-destination listener; each of its SYNs arrives as a SYN_HELD event (the host holds the id),
//      answered by connAcceptHeld(id) (the SYN,ACK, then ACCEPTED) or connRefuseHeld(id, how) (0 RST,
//      1 host, 2 port unreachable, 3 administratively prohibited; then CLOSED). Drain output after.
//      udpSetCatchAll(id, 1) makes a bound UDP socket the catch-all for its IP version: datagrams on a
//      gateway interface that no socket takes; its send records carry their source port at +10.
export { ifaceSetAnyDestination, connAcceptHeld, connRefuseHeld } from "./engine/forward";
export { udpSetCatchAll } from "./engine/udp";
export { connListenAny } from "./engine/user";
export { udpLiveSockets } from "./engine/udpsockets";

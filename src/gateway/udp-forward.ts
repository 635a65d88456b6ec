// UDP in gateway mode: the stack's catch-all UDP socket (OpenUdpOptions.catchAll) receives every
// datagram on its gateway links that no other socket takes, to any address and port; each flow (the
// guest's address and port, the destination's) is decided once by a policy, which drops it or gives
// the far side to forward to, and answers come back from the destination the guest sent to. Flows
// are bounded (the least recently used goes first) and end after an idle time, as a NAT's mappings
// do (RFC 4787 REQ-5: at least two minutes; one by default here, for a guest's DNS-like traffic).
// Browser-safe; node-gateway.ts has the node:dgram far side.
import { invalidType, optionsObject, validateFunction, validateInteger, validateKnownKeys } from "../core/validate.js";
import { Stack, type StackUdpSocket, type UdpMessage } from "../tcp/stack.js";
import type { ForwardInfo } from "./forwarder.js";

/** The far side of one UDP flow. */
export interface UdpFar {
  /** Forwards one datagram of the guest's. */
  send(data: Uint8Array): void;
  /** The flow ended (idle, evicted, or the forwarder closed). */
  close(): void;
}

/** Decides a new flow: its far side, or "drop". `reply` sends a datagram back to the guest from the destination. */
export type UdpPolicy = (info: ForwardInfo, reply: (data: Uint8Array) => void) => UdpFar | "drop";

/** Options of serveUdpForwarder. */
export interface UdpForwarderOptions {
  /** The policy, asked once per flow. */
  forward: UdpPolicy;
  /** A flow with no datagram either way for this long ends, ms. Default 60,000. */
  idleMs?: number;
  /** Flows at once; a new one past it ends the least recently used. Default 1,024. */
  maxFlows?: number;
}

/** What a UDP forwarder has done. */
export interface UdpForwarderCounters {
  /** Flows the policy let through. */
  flows: number;
  /** Flows it dropped (each datagram of a dropped flow asks again). */
  dropped: number;
  /** Flows ended by maxFlows. */
  evicted: number;
  /** Datagrams from guests forwarded. */
  datagramsUp: number;
  /** Datagrams sent back to guests. */
  datagramsDown: number;
  /** Datagrams to a broadcast or group address, never forwarded. */
  broadcastIgnored: number;
}

/** A running UDP forwarder. */
export interface UdpForwarder {
  /** The counters now (a copy). */
  readonly counters: Readonly<UdpForwarderCounters>;
  /** Flows open now. */
  readonly flows: number;
  /** Ends every flow and closes the catch-all socket. */
  close(): void;
}

interface Flow {
  far: UdpFar;
  last: number;
}

const KNOWN: ReadonlySet<string> = new Set(["forward", "idleMs", "maxFlows"]);

/**
 * UDP to any address through `stack`'s gateway links, by flow, to `options.forward`.
 * @throws TcpwasmError for bad options; EADDRINUSE-like errors from binding the catch-all socket.
 */
export function serveUdpForwarder(stack: Stack, options: UdpForwarderOptions): UdpForwarder {
  if (!(stack instanceof Stack)) invalidType("stack", "an instance of Stack (from createStack)", stack);
  const o = optionsObject(options, "options");
  validateKnownKeys(o as unknown as Record<string, unknown>, "options", KNOWN);
  validateFunction(o.forward, "options.forward");
  const idleMs = o.idleMs ?? 60_000;
  validateInteger(idleMs, "options.idleMs", 1, 0x7fffffff);
  const maxFlows = o.maxFlows ?? 1024;
  validateInteger(maxFlows, "options.maxFlows", 1, 1 << 20);
  const policy = o.forward;
  const counters: UdpForwarderCounters = { flows: 0, dropped: 0, evicted: 0, datagramsUp: 0, datagramsDown: 0, broadcastIgnored: 0 };
  /** Flow key -> flow; Map order is use order. */
  const flows = new Map<string, Flow>();
  const end = (key: string, flow: Flow) => {
    flows.delete(key);
    try {
      flow.far.close();
    } catch {
      // The far side's own failure to close changes nothing here.
    }
  };
  const onMessage = (m: UdpMessage) => {
    if (m.broadcast) {
      counters.broadcastIgnored++;
      return;
    }
    const key = `${m.remoteAddress} ${m.remotePort} ${m.localAddress} ${m.localPort}`;
    let flow = flows.get(key);
    if (flow) {
      flows.delete(key);
      flows.set(key, flow);
    } else {
      const info: ForwardInfo = { remoteAddress: m.remoteAddress, remotePort: m.remotePort, localAddress: m.localAddress, localPort: m.localPort };
      const reply = (data: Uint8Array) => {
        const f = flows.get(key);
        if (!f || socket.closed) return;
        f.last = stack.time();
        try {
          if (socket.send(data, info.remoteAddress, info.remotePort, { from: info.localAddress, fromPort: info.localPort })) counters.datagramsDown++;
        } catch {
          // Too large for the guest's link (EMSGSIZE): dropped, as a router without fragmentation would.
        }
      };
      const far = policy(info, reply);
      if (far === "drop" || far === undefined) {
        counters.dropped++;
        return;
      }
      if (flows.size >= maxFlows) {
        const [oldKey, oldFlow] = flows.entries().next().value as [string, Flow];
        end(oldKey, oldFlow);
        counters.evicted++;
      }
      flow = { far, last: 0 };
      flows.set(key, flow);
      counters.flows++;
    }
    flow.last = stack.time();
    counters.datagramsUp++;
    flow.far.send(m.data);
  };
  const socket: StackUdpSocket = stack.openUdp({ catchAll: true }, onMessage);
  socket.unref();
  const sweep = setInterval(() => {
    const now = stack.time();
    for (const [key, flow] of flows) if (now - flow.last > idleMs) end(key, flow);
  }, Math.max(1, Math.floor(idleMs / 2)));
  (sweep as { unref?: () => void }).unref?.();
  return {
    get counters() {
      return { ...counters };
    },
    get flows() {
      return flows.size;
    },
    close() {
      clearInterval(sweep);
      for (const [key, flow] of [...flows]) end(key, flow);
      socket.close();
    },
  };
}

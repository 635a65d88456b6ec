// serveForwarder: gateway mode for a stack (Stack.openForwarder) with a policy that decides, per
// connection, what the guest reaches. The policy gets the guest's address and port and the
// destination it asked for, and returns (or resolves to) a refusal ("reset", "host", "port",
// "admin") or the far side to splice to (splice.ts): a Node-style duplex such as a net.Socket, or a
// pair of Web Streams such as a WebSocket stream dialer's.
//
// The guest's SYN is answered only once the far side is connected (a net.Socket's 'connect', a
// stream pair's `opened`), so that a refused, unreachable or filtered far side reaches the guest as
// what it is (a RST, an ICMP destination unreachable) instead of a connection that opens and is then
// reset: slirp answers the same way, and gVisor's forwarder lets its handler choose. The cost is one
// round trip to the far side before the SYN,ACK, which a guest's connect() pays anyway. A far side
// that neither connects nor fails within connectTimeoutMs is refused as host unreachable.
// Browser-safe.
import { invalidType, optionsObject, validateFunction, validateInteger, validateKnownKeys } from "../core/validate.js";
import type { ConnectionOptions } from "../core/settings.js";
import { Stack, type HeldConnection, type Refusal, type StackListener } from "../tcp/stack.js";
import { isDuplexLike, isStreamPair, splice, type DuplexLike, type StreamPair } from "./splice.js";

/** A connection a guest asked for: who (remote), and where to (local: the destination). */
export interface ForwardInfo {
  /** The guest's address. */
  remoteAddress: string;
  /** The guest's port. */
  remotePort: number;
  /** The destination address the guest connected to. */
  localAddress: string;
  /** The destination port. */
  localPort: number;
}

/** A far side that may still be connecting: a duplex (its 'connect' event when `connecting`), or streams with `opened`. */
export type FarSide = DuplexLike & { readonly connecting?: boolean } | StreamPair & { readonly opened?: Promise<unknown> };

/** What a policy answers: a refusal, or the far side to splice the guest's connection to. */
export type ForwardDecision = Refusal | FarSide;

/** Decides each connection; may be async (a dial, a lookup). A throw or rejection refuses it (see refusalFor). */
export type ForwardPolicy = (info: ForwardInfo) => ForwardDecision | Promise<ForwardDecision>;

/** Options of serveForwarder. */
export interface ForwarderOptions {
  /** The policy: a refusal or a far side for each connection. */
  connect: ForwardPolicy;
  /** How long a far side may take to connect, ms; then the guest gets host unreachable. Default 20,000. */
  connectTimeoutMs?: number;
  /** Connections spliced or being decided at once; past it, a RST. Default 4,096. */
  maxConnections?: number;
  /** Held connections per IP version (Stack.openForwarder's backlog). */
  backlog?: number;
  /** Options of the guests' connections on the gateway's side (buffers, Nagle, keepalive). Default the stack's. */
  connection?: ConnectionOptions;
}

/** What a forwarder has done. */
export interface ForwarderCounters {
  /** Connections the guests asked for. */
  requested: number;
  /** Spliced to a far side. */
  spliced: number;
  /** Refused by the policy or by the far side. */
  refused: number;
  /** Refused because maxConnections were open. */
  overLimit: number;
  /** Far sides that did not connect within connectTimeoutMs. */
  timedOut: number;
  /** Guests that gave up before the far side answered. */
  abandoned: number;
  /** Open now (being decided or spliced). */
  open: number;
  /** Bytes from guests to far sides, of splices that are over. */
  bytesUp: number;
  /** Bytes from far sides to guests, of splices that are over. */
  bytesDown: number;
}

/** A running forwarder (serveForwarder). */
export interface Forwarder {
  /** The counters now (a copy). */
  readonly counters: Readonly<ForwarderCounters>;
  /** Stops taking new connections; spliced ones go on until they end. */
  close(): void;
}

const KNOWN: ReadonlySet<string> = new Set(["connect", "connectTimeoutMs", "maxConnections", "backlog", "connection"]);

/**
 * The refusal a failed far side is reported as: ECONNREFUSED (and anything unknown) a RST, as the far
 * host sent one; unreachable, unresolvable or timed-out destinations an ICMP host unreachable, as a
 * router would say; EACCES / EPERM (a policy upstream) administratively prohibited.
 */
export function refusalFor(error: unknown): Refusal {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ETIMEDOUT":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host";
    case "EACCES":
    case "EPERM":
      return "admin";
    default:
      return "reset";
  }
}

/**
 * Gateway mode on `stack`: every TCP connection its guests open on links attached with anyDestination
 * that no listener takes (to any address, the stack's own included) goes to `options.connect`.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options; EADDRINUSE when the stack has a forwarder.
 */
export function serveForwarder(stack: Stack, options: ForwarderOptions): Forwarder {
  if (!(stack instanceof Stack)) invalidType("stack", "an instance of Stack (from createStack)", stack);
  const o = optionsObject(options, "options");
  validateKnownKeys(o as unknown as Record<string, unknown>, "options", KNOWN);
  validateFunction(o.connect, "options.connect");
  const timeoutMs = o.connectTimeoutMs ?? 20_000;
  validateInteger(timeoutMs, "options.connectTimeoutMs", 1, 0x7fffffff);
  const max = o.maxConnections ?? 4096;
  validateInteger(max, "options.maxConnections", 1, 0x7fffffff);
  const policy = o.connect;
  const counters: ForwarderCounters = {
    requested: 0, spliced: 0, refused: 0, overLimit: 0, timedOut: 0, abandoned: 0, open: 0, bytesUp: 0, bytesDown: 0,
  };

  const handle = (held: HeldConnection): void => {
    counters.requested++;
    if (counters.open >= max) {
      counters.overLimit++;
      held.refuse("reset");
      return;
    }
    counters.open++;
    const conn = held.connection;
    const info: ForwardInfo = {
      remoteAddress: held.remoteAddress, remotePort: held.remotePort, localAddress: held.localAddress, localPort: held.localPort,
    };
    let settled = false;
    let far: FarSide | undefined;
    const close = () => {
      counters.open--;
    };
    // The guest may give up (a RST, or the stack closing) while the far side is being dialled.
    conn.onClose = () => {
      if (settled) return;
      settled = true;
      counters.abandoned++;
      clearTimeout(timer);
      if (far) destroyFar(far);
      close();
    };
    const refuse = (how: Refusal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      counters.refused++;
      if (far) destroyFar(far);
      conn.onClose = undefined;
      held.refuse(how);
      close();
    };
    const timer = setTimeout(() => {
      if (settled) return;
      counters.timedOut++;
      refuse("host");
    }, timeoutMs);
    (timer as { unref?: () => void }).unref?.();
    const connected = () => {
      if (settled) {
        if (far) destroyFar(far);
        return;
      }
      settled = true;
      clearTimeout(timer);
      counters.spliced++;
      held.accept();
      splice(conn, far as DuplexLike | StreamPair, (r) => {
        counters.bytesUp += r.up;
        counters.bytesDown += r.down;
        close();
      });
    };
    new Promise<ForwardDecision>((resolve) => resolve(policy(info))).then((decision) => {
      if (typeof decision === "string") {
        refuse(validRefusal(decision));
        return;
      }
      if (isDuplexLike(decision)) {
        far = decision;
        if (settled) {
          destroyFar(decision);
          return;
        }
        if (decision.connecting) {
          decision.on("connect", connected);
          decision.on("error", (error: unknown) => refuse(refusalFor(error)));
        } else if (decision.destroyed) {
          refuse("reset");
        } else {
          connected();
        }
        return;
      }
      if (isStreamPair(decision)) {
        far = decision;
        if (decision.opened) decision.opened.then(connected, (error: unknown) => refuse(refusalFor(error)));
        else connected();
        return;
      }
      refuse("reset");
    }, (error: unknown) => refuse(refusalFor(error)));
  };

  const listener: StackListener = stack.openForwarder({ ...o.connection, ...(o.backlog !== undefined && { backlog: o.backlog }) }, handle);
  return {
    get counters() {
      return { ...counters };
    },
    close() {
      listener.close();
    },
  };
}

function validRefusal(how: string): Refusal {
  return how === "host" || how === "port" || how === "admin" ? how : "reset";
}

function destroyFar(far: FarSide): void {
  if (isDuplexLike(far)) {
    far.destroy();
    return;
  }
  far.readable.cancel().catch(() => {});
  far.writable.abort().catch(() => {});
}

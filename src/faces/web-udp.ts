// The Web face for UDP: sockets shaped like the WICG Direct Sockets `UDPSocket` over a stack's UDP
// sockets (src/tcp/udp.ts). Web-platform APIs only. Loading it adds stack.openUDPSocket to the Stack
// class, as web.ts adds stack.connect (every entry of the package loads it).
//
//   // Connected mode: one peer; messages carry no address.
//   const socket = stack.openUDPSocket({ remoteAddress: "10.0.0.2", remotePort: 53 });
//   const { readable, writable } = await socket.opened;
//   await writable.getWriter().write({ data: query });
//   const { value } = await readable.getReader().read();    // { data, remoteAddress, remotePort }
//
//   // Bound mode: any peer; each message written names its destination.
//   const server = stack.openUDPSocket({ localAddress: "0.0.0.0", localPort: 53 });
//   const { readable, writable } = await server.opened;
//   const writer = writable.getWriter();
//   for await (const m of readable) await writer.write({ data: answer(m.data), remoteAddress: m.remoteAddress, remotePort: m.remotePort });
//
// Backpressure. UDP has none on the wire, so none is invented: the readable side queues up to
// `readableHighWaterMark` messages (default 64) and drops what arrives while its queue is full,
// counted in `droppedMessages` (a kernel's full socket buffer does the same); a write resolves once
// the datagram is queued in the engine. A connected socket that receives ICMP port unreachable ends
// with ECONNREFUSED, as in browsers: its readable errors and `closed` rejects.
import { TcpwasmError, isArgumentError } from "../core/errors.js";
import { Stack } from "../tcp/stack.js";
import type { StackUdpSocket, UdpMessage } from "../tcp/udp.js";
import { invalidType, invalidValue, toBytes, validateBoolean, validateInteger, validateKnownKeys, validateObject, validatePort, validateString,
  } from "../core/validate.js";

/** Options of stack.openUDPSocket, after Direct Sockets' UDPSocketOptions. */
export interface UDPSocketOptions {
  /** Connected mode: the peer's address (an IP address: a stack has no resolver). */
  remoteAddress?: string;
  /** Connected mode: the peer's port. */
  remotePort?: number;
  /** Bound mode: the address to bind ("0.0.0.0" or "::" for all of that version); in connected mode, optional. */
  localAddress?: string;
  /** The local port; default a random ephemeral port (RFC 6056). */
  localPort?: number;
  /** Messages the readable side queues before further ones are dropped. Default 64. */
  readableHighWaterMark?: number;
  /** Share the local port with other sockets that ask the same (SO_REUSEADDR). Default false. */
  reuseAddress?: boolean;
  /** A socket bound to "::" takes IPv6 only. Default false: IPv4 too (a dual-stack socket), as Direct Sockets'. */
  ipv6Only?: boolean;
  /** Accepted for Direct Sockets' sake: the engine's UDP regions, shared by all sockets, do the buffering. */
  sendBufferSize?: number;
  /** Accepted for Direct Sockets' sake, as sendBufferSize. */
  receiveBufferSize?: number;
}

/** A datagram read from or written to a UDPSocket. */
export interface UDPMessage {
  /** The payload. */
  data: Uint8Array;
  /** The peer's address (in bound mode, required when writing). */
  remoteAddress?: string;
  /** The peer's port (in bound mode, required when writing). */
  remotePort?: number;
}

/** What UDPSocket.opened resolves to. */
export interface UDPSocketOpenInfo {
  /** The messages received. */
  readable: ReadableStream<UDPMessage>;
  /** The messages to send. */
  writable: WritableStream<UDPMessage>;
  /** The peer's address (connected mode only). */
  remoteAddress?: string;
  /** The peer's port (connected mode only). */
  remotePort?: number;
  /** The bound address. */
  localAddress: string;
  /** The bound port. */
  localPort: number;
}

const DEFAULT_HIGH_WATER_MARK = 64;
const OPTIONS: ReadonlySet<string> = new Set([
  "remoteAddress", "remotePort", "localAddress", "localPort", "readableHighWaterMark", "reuseAddress", "ipv6Only", "sendBufferSize",
  "receiveBufferSize",
]);
const MESSAGE_KEYS: ReadonlySet<string> = new Set(["data", "remoteAddress", "remotePort"]);

function ignore(): void {}

function quietly<T>(p: Promise<T>): Promise<T> {
  p.catch(ignore);
  return p;
}

function unbracket(address: string): string {
  return address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
}

/** A UDP socket with Web Streams of messages. Create with `stack.openUDPSocket()`. */
export class UDPSocket {
  /** Resolves with the streams and addresses once bound; rejects when the stack refuses (EADDRINUSE, ...). */
  readonly opened: Promise<UDPSocketOpenInfo>;
  /** Resolves once the socket is closed; rejects with its error (ECONNREFUSED) if it failed. */
  readonly closed: Promise<void>;
  readonly #sock: StackUdpSocket | undefined;
  readonly #connected: boolean;
  #readable!: ReadableStream<UDPMessage>;
  #writable!: WritableStream<UDPMessage>;
  #readController!: ReadableStreamDefaultController<UDPMessage>;
  #resolveClosed!: () => void;
  #rejectClosed!: (error: unknown) => void;
  #over = false;
  #readDone = false;
  #dropped = 0;

  /** @internal Use stack.openUDPSocket(). */
  constructor(stack: Stack, options: UDPSocketOptions) {
    this.closed = quietly(new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    }));
    const o = options;
    this.#connected = o.remoteAddress !== undefined;
    const hwm = o.readableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    let sock: StackUdpSocket | undefined;
    let failure: unknown;
    try {
      sock = stack.openUdp({
        // "::" without ipv6Only takes IPv4 too (a dual-stack socket, Direct Sockets' default).
        localAddress: o.localAddress === undefined || (unbracket(o.localAddress) === "::" && !o.ipv6Only) ? undefined : unbracket(o.localAddress),
        localPort: o.localPort,
        remoteAddress: o.remoteAddress === undefined ? undefined : unbracket(o.remoteAddress),
        remotePort: o.remotePort,
        reuseAddress: o.reuseAddress,
      }, (m) => this.#receive(m));
    } catch (error) {
      if (isArgumentError(error) || !(error instanceof TcpwasmError)) throw error;
      failure = error;
    }
    this.#sock = sock;
    if (!sock) {
      this.opened = quietly(Promise.reject(failure));
      this.#over = true;
      this.#rejectClosed(failure);
      return;
    }
    sock.onError((error) => this.#fail(error));
    sock.onClose((error) => {
      if (error) this.#end(error);
    });
    this.#readable = new ReadableStream<UDPMessage>(
      {
        start: (controller) => {
          this.#readController = controller;
        },
        cancel: () => {
          this.#readDone = true;
        },
      },
      { highWaterMark: hwm },
    );
    this.#writable = new WritableStream<UDPMessage>(
      {
        write: (message) => this.#send(message),
        close: () => this.#closeIfDone(),
        abort: () => this.#closeIfDone(),
      },
      { highWaterMark: 1 },
    );
    const info: UDPSocketOpenInfo = { readable: this.#readable, writable: this.#writable, localAddress: sock.localAddress, localPort: sock.localPort };
    if (this.#connected) {
      info.remoteAddress = sock.remoteAddress;
      info.remotePort = sock.remotePort;
    }
    this.opened = Promise.resolve(info);
  }

  /** Datagrams dropped because the readable side's queue was full (the reader was slow). */
  get droppedMessages(): number {
    return this.#dropped;
  }

  /**
   * Closes the socket: the readable side ends, further writes fail, the port is free again. Resolves
   * with `closed`.
   */
  close(): Promise<void> {
    this.#end(undefined);
    return this.closed;
  }

  #receive(m: UdpMessage): void {
    if (this.#readDone || this.#over) return;
    const c = this.#readController;
    if ((c.desiredSize ?? 1) <= 0) {
      this.#dropped++;
      return;
    }
    c.enqueue({ data: m.data, remoteAddress: m.remoteAddress, remotePort: m.remotePort });
  }

  #send(message: UDPMessage): void {
    if (this.#over) throw new TcpwasmError("ERR_SOCKET_DGRAM_NOT_RUNNING", "the socket is closed");
    validateObject(message, "message");
    validateKnownKeys(message as unknown as Record<string, unknown>, "message", MESSAGE_KEYS);
    const data = toBytes(message.data, "message.data");
    if (this.#connected) {
      if (message.remoteAddress !== undefined || message.remotePort !== undefined) {
        invalidValue("message.remoteAddress", message.remoteAddress ?? message.remotePort, "must be absent on a connected socket (it sends to its peer)");
      }
      this.#sock!.send(data);
      return;
    }
    validateString(message.remoteAddress, "message.remoteAddress");
    validatePort(message.remotePort, "message.remotePort");
    this.#sock!.send(data, unbracket(message.remoteAddress), message.remotePort);
  }

  /** Both sides are done (the writable closed, the readable cancelled): the socket closes. */
  #closeIfDone(): void {
    if (this.#readDone) this.#end(undefined);
  }

  #fail(error: TcpwasmError): void {
    this.#end(error);
  }

  #end(error: TcpwasmError | undefined): void {
    if (this.#over) return;
    this.#over = true;
    this.#sock?.close();
    if (!this.#readDone) {
      this.#readDone = true;
      if (error) this.#readController.error(error);
      else this.#readController.close();
    }
    if (error) this.#rejectClosed(error);
    else this.#resolveClosed();
  }
}

/**
 * @internal stack.openUDPSocket(): connected mode with remoteAddress and remotePort, bound mode with
 * localAddress. Argument errors throw at once; what the stack refuses (EADDRINUSE, EADDRNOTAVAIL,
 * ENOBUFS, a closed stack) rejects `opened` and `closed`, as Direct Sockets does.
 */
export function openUDPSocket(stack: Stack, options: UDPSocketOptions): UDPSocket {
  validateObject(options, "options");
  validateKnownKeys(options as unknown as Record<string, unknown>, "options", OPTIONS);
  const connected = options.remoteAddress !== undefined || options.remotePort !== undefined;
  if (connected) {
    validateString(options.remoteAddress, "options.remoteAddress");
    validatePort(options.remotePort, "options.remotePort");
  } else if (options.localAddress === undefined) {
    invalidValue("options", "{}", "needs remoteAddress and remotePort (connected mode) or localAddress (bound mode)");
  }
  if (options.localAddress !== undefined) validateString(options.localAddress, "options.localAddress");
  if (options.localPort !== undefined) validatePort(options.localPort, "options.localPort", true);
  if (options.readableHighWaterMark !== undefined) validateInteger(options.readableHighWaterMark, "options.readableHighWaterMark", 1, 2 ** 31);
  if (options.reuseAddress !== undefined) validateBoolean(options.reuseAddress, "options.reuseAddress");
  if (options.ipv6Only !== undefined) validateBoolean(options.ipv6Only, "options.ipv6Only");
  if (options.sendBufferSize !== undefined) validateInteger(options.sendBufferSize, "options.sendBufferSize", 1, 2 ** 31);
  if (options.receiveBufferSize !== undefined) validateInteger(options.receiveBufferSize, "options.receiveBufferSize", 1, 2 ** 31);
  return new UDPSocket(stack, options);
}

/** The UDP Web face bound to one stack. */
export interface BoundWebUdp {
  /**
   * A socket shaped like Direct Sockets' UDPSocket.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options; refusals by the stack reject `opened` instead.
   */
  openUDPSocket(options: UDPSocketOptions): UDPSocket;
}

/**
 * The UDP Web face on `stack`.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE unless `stack` is a Stack from createStack.
 */
export function bindWebUdp(stack: Stack): BoundWebUdp {
  if (!(stack instanceof Stack)) invalidType("stack", "an instance of Stack (from createStack)", stack);
  return { openUDPSocket: (options) => openUDPSocket(stack, options) };
}

declare module "../tcp/stack.js" {
  interface Stack {
    /** The Web face (src/faces/web-udp.ts): a socket shaped like Direct Sockets' UDPSocket. */
    openUDPSocket(options: UDPSocketOptions): UDPSocket;
  }
}

/**
 * @internal The Stack class once stack.openUDPSocket is on it: marked pure, kept in a bundle only where
 * a kept function names it, as StackWithWebFace (src/faces/web.ts).
 */
export const StackWithUdpFace = /* @__PURE__ */ (() => {
  Object.defineProperty(Stack.prototype, "openUDPSocket", {
    value: function openUDPSocketMethod(this: Stack, options: UDPSocketOptions): UDPSocket {
      return openUDPSocket(this, options);
    },
    writable: true,
    configurable: true,
  });
  return Stack;
})();

// The Node face for UDP (tcpwasm/node): node:dgram's Socket bound to a stack's UDP sockets
// (src/tcp/udp.ts).
//
//   import { bindDgram } from "tcpwasm/node";
//   const dgram = bindDgram(stack);                        // { createSocket, Socket }
//   const server = dgram.createSocket("udp4");
//   server.on("message", (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address));
//   server.bind(7, () => ...);
//   const client = dgram.createSocket("udp4");
//   client.send("hello", 7, "10.0.0.2", (err, bytes) => ...);   // binds a random port first
//
// An EventEmitter with dgram.Socket's events ('listening', 'message'(msg, rinfo), 'connect', 'error',
// 'close') and members, failing with node:dgram's codes: ERR_SOCKET_BAD_PORT, ERR_SOCKET_ALREADY_BOUND,
// ERR_SOCKET_DGRAM_NOT_RUNNING, ERR_SOCKET_DGRAM_IS_CONNECTED, ERR_SOCKET_DGRAM_NOT_CONNECTED thrown at
// once; EADDRINUSE from bind and EMSGSIZE, EHOSTUNREACH and EACCES from send as the callback's error
// or an 'error' event. As node:dgram on Linux, an ICMP port unreachable error about a connected
// socket's datagram is an 'error' event (ECONNREFUSED, syscall "recvmsg").
// What differs, because a stack has no resolver and no file descriptors: addresses must be IP
// addresses. A "udp6" socket bound to "::" takes IPv4 too unless ipv6Only, as node:dgram's: IPv4
// peers appear as IPv4-mapped addresses ("::ffff:10.0.0.1", family "IPv6") and may be sent to so.
import { EventEmitter } from "node:events";
import { Buffer } from "node:buffer";
import { TcpwasmError } from "../core/errors.js";
import { argumentError, invalidType, received, validateBoolean, validateFunction, validateInteger, validateKnownKeys } from "../core/validate.js";
import { parseAddress } from "../core/address.js";
import type { Stack } from "../tcp/stack.js";
import type { StackUdpSocket, UdpMessage } from "../tcp/udp.js";
import { familyOf, validateNetPort, validateStack, type Family } from "./node-args.js";
import { NetError, toNetError } from "./node-errors.js";

/** node:dgram's socket types. */
export type SocketType = "udp4" | "udp6";

/** Options of createSocket, as node:dgram takes them. */
export interface DgramSocketOptions {
  /** "udp4" or "udp6". */
  type: SocketType;
  /** Share the port with other sockets that ask the same (SO_REUSEADDR). Default false. */
  reuseAddr?: boolean;
  /** A "udp6" socket bound to "::" takes IPv6 only (IPV6_V6ONLY). Default false: IPv4 too, as node:dgram's. */
  ipv6Only?: boolean;
  /** Reported by getRecvBufferSize (the engine's regions do the buffering). */
  recvBufferSize?: number;
  /** Reported by getSendBufferSize. */
  sendBufferSize?: number;
  /** Closes the socket when aborted. */
  signal?: AbortSignal;
  /** Accepted for node:dgram's sake and never called: addresses must be IP addresses (a stack resolves no names here). */
  lookup?: unknown;
}

/** Where a message came from: rinfo of the 'message' event. */
export interface RemoteInfo {
  /** The sender's address. */
  address: string;
  /** "IPv4" or "IPv6". */
  family: Family;
  /** The sender's port. */
  port: number;
  /** Bytes in the message. */
  size: number;
}

/** socket.address() and socket.remoteAddress(). */
export interface AddressInfo {
  /** The address. */
  address: string;
  /** "IPv4" or "IPv6". */
  family: Family;
  /** The port. */
  port: number;
}

/** What send() takes as a message. */
export type DgramMessage = string | ArrayBufferView | ReadonlyArray<string | ArrayBufferView>;

type SendCallback = (error: Error | null, bytes: number) => void;

const OPTION_KEYS: ReadonlySet<string> = new Set(["type", "reuseAddr", "ipv6Only", "recvBufferSize", "sendBufferSize", "signal", "lookup"]);
const BIND_KEYS: ReadonlySet<string> = new Set(["port", "address", "exclusive", "fd"]);
const BROADCAST = "255.255.255.255";

function badType(value: unknown): never {
  throw argumentError("ERR_SOCKET_BAD_TYPE", `Bad socket type specified. Valid types are: udp4, udp6. Received ${received(value)}`);
}

function toBuffer(value: unknown, name: string): Buffer {
  if (typeof value === "string") return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return invalidType(name, "of type string or an instance of Buffer, TypedArray, or DataView", value);
}

/** node:dgram's Socket on a stack. Create with bindDgram(stack).createSocket(). */
export class Socket extends EventEmitter {
  /** "udp4" or "udp6". */
  readonly type: SocketType;
  readonly #stack: Stack;
  readonly #reuse: boolean;
  /** A "udp6" socket that also speaks IPv4 when bound to "::" (not ipv6Only). */
  readonly #dualStack: boolean;
  #sock: StackUdpSocket | undefined;
  #state: "unbound" | "bound" | "closed" = "unbound";
  #remote: AddressInfo | undefined;
  #broadcast = false;
  #refed = true;
  #recvBufferSize: number;
  #sendBufferSize: number;

  /** @internal Use bindDgram(stack).createSocket(). */
  constructor(stack: Stack, options: SocketType | DgramSocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void) {
    super();
    validateStack(stack);
    const o: DgramSocketOptions = typeof options === "string" ? { type: options } : options;
    if (typeof o !== "object" || o === null) badType(options);
    validateKnownKeys(o as unknown as Record<string, unknown>, "options", OPTION_KEYS);
    if (o.type !== "udp4" && o.type !== "udp6") badType(o.type);
    if (o.reuseAddr !== undefined) validateBoolean(o.reuseAddr, "options.reuseAddr");
    if (o.ipv6Only !== undefined) validateBoolean(o.ipv6Only, "options.ipv6Only");
    if (o.recvBufferSize !== undefined) validateInteger(o.recvBufferSize, "options.recvBufferSize", 0, 2 ** 31 - 1);
    if (o.sendBufferSize !== undefined) validateInteger(o.sendBufferSize, "options.sendBufferSize", 0, 2 ** 31 - 1);
    if (listener !== undefined) {
      validateFunction(listener, "listener");
      this.on("message", listener);
    }
    this.type = o.type;
    this.#stack = stack;
    this.#reuse = o.reuseAddr ?? false;
    this.#dualStack = o.type === "udp6" && !o.ipv6Only;
    this.#recvBufferSize = o.recvBufferSize ?? 0;
    this.#sendBufferSize = o.sendBufferSize ?? 0;
    if (o.signal !== undefined) {
      if (o.signal.aborted) process.nextTick(() => this.close());
      else o.signal.addEventListener("abort", () => this.#state !== "closed" && this.close(), { once: true });
    }
  }

  /**
   * bind([port][, address][, callback]) or bind(options[, callback]): binds now; 'listening' (and the
   * callback) follow, or 'error' (EADDRINUSE, EADDRNOTAVAIL).
   * @throws TcpwasmError ERR_SOCKET_ALREADY_BOUND, ERR_SOCKET_DGRAM_NOT_RUNNING, ERR_SOCKET_BAD_PORT, ERR_INVALID_ARG_TYPE.
   */
  bind(port?: number | { port?: number; address?: string; exclusive?: boolean } | (() => void), address?: string | (() => void), callback?: () => void): this {
    let p: unknown = port;
    let a: unknown = address;
    let cb: unknown = callback;
    if (typeof p === "function") {
      cb = p;
      p = undefined;
      a = undefined;
    } else if (typeof p === "object" && p !== null) {
      validateKnownKeys(p as Record<string, unknown>, "options", BIND_KEYS);
      cb = address;
      a = (p as { address?: string }).address;
      p = (p as { port?: number }).port;
    } else if (typeof a === "function") {
      cb = a;
      a = undefined;
    }
    this.#checkRunning();
    if (this.#state === "bound") throw argumentError("ERR_SOCKET_ALREADY_BOUND", "Socket is already bound");
    const bindPort = p === undefined ? 0 : validateNetPort(p, "port", true);
    if (a !== undefined && typeof a !== "string") invalidType("address", "of type string", a);
    if (cb !== undefined) validateFunction(cb, "callback");
    if (cb !== undefined) this.once("listening", cb as () => void);
    try {
      this.#bindNow(bindPort, a as string | undefined);
    } catch (error) {
      if (error instanceof TcpwasmError && !error.code.startsWith("ERR_")) {
        const e = toNetError(error, "bind", (a as string | undefined) ?? this.#wildcard(), bindPort);
        process.nextTick(() => this.emit("error", e));
        return this;
      }
      throw error;
    }
    process.nextTick(() => this.emit("listening"));
    return this;
  }

  /**
   * connect(port[, address][, callback]): sends go to this peer only, and only its datagrams are taken.
   * @throws TcpwasmError ERR_SOCKET_DGRAM_IS_CONNECTED, ERR_SOCKET_DGRAM_NOT_RUNNING, ERR_SOCKET_BAD_PORT.
   */
  connect(port: number, address?: string | (() => void), callback?: () => void): void {
    let a: unknown = address;
    let cb: unknown = callback;
    if (typeof a === "function") {
      cb = a;
      a = undefined;
    }
    this.#checkRunning();
    const remotePort = validateNetPort(port, "Port", false);
    if (this.#remote) throw argumentError("ERR_SOCKET_DGRAM_IS_CONNECTED", "Already connected");
    if (a !== undefined && typeof a !== "string") invalidType("address", "of type string", a);
    if (cb !== undefined) {
      validateFunction(cb, "callback");
      this.once("connect", cb as () => void);
    }
    const remote = (a as string | undefined) ?? this.#localhost();
    try {
      this.#implicitBind();
      this.#sock!.connect(this.#unmapped(remote), remotePort);
    } catch (error) {
      if (error instanceof TcpwasmError && !error.code.startsWith("ERR_")) {
        const e = toNetError(error, "connect", remote, remotePort);
        process.nextTick(() => this.emit("error", e));
        return;
      }
      throw error;
    }
    this.#remote = { address: this.#mapped(this.#sock!.remoteAddress!), family: familyOf(remote), port: remotePort };
    process.nextTick(() => this.emit("connect"));
  }

  /** @throws TcpwasmError ERR_SOCKET_DGRAM_NOT_CONNECTED, ERR_SOCKET_DGRAM_NOT_RUNNING. */
  disconnect(): void {
    this.#checkRunning();
    if (!this.#remote) throw argumentError("ERR_SOCKET_DGRAM_NOT_CONNECTED", "Not connected");
    this.#sock!.disconnect();
    this.#remote = undefined;
  }

  /**
   * send(msg[, offset, length][, port][, address][, callback]); on a connected socket
   * send(msg[, offset, length][, callback]). An unbound socket binds a random port first. The
   * callback gets the bytes sent, or the error (EMSGSIZE, EHOSTUNREACH, EACCES), which
   * without a callback is an 'error' event.
   * @throws TcpwasmError ERR_SOCKET_DGRAM_NOT_RUNNING, ERR_SOCKET_DGRAM_IS_CONNECTED, ERR_SOCKET_BAD_PORT, ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE.
   */
  send(msg: DgramMessage, ...args: unknown[]): void {
    let cb: SendCallback | undefined;
    if (typeof args[args.length - 1] === "function") cb = args.pop() as SendCallback;
    while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
    let offset: unknown;
    let length: unknown;
    let port: unknown;
    let address: unknown;
    if (this.#remote) {
      if (args.length === 2) [offset, length] = args;
      else if (args.length !== 0) throw argumentError("ERR_SOCKET_DGRAM_IS_CONNECTED", "Already connected");
    } else if (args.length >= 3) [offset, length, port, address] = args;
    else [port, address] = args;
    this.#checkRunning();
    let data: Buffer;
    if (Array.isArray(msg)) {
      data = Buffer.concat(msg.map((m, i) => toBuffer(m, `buffer[${i}]`)));
    } else {
      data = toBuffer(msg, "buffer");
      if (offset !== undefined || length !== undefined) {
        validateInteger(offset, "offset", 0, data.length);
        validateInteger(length, "length", 0, data.length - (offset as number));
        data = data.subarray(offset as number, (offset as number) + (length as number));
      }
    }
    let to: string | undefined;
    let toPort: number | undefined;
    if (!this.#remote) {
      toPort = validateNetPort(port, "Port", false);
      if (address !== undefined && typeof address !== "string") invalidType("address", "of type string", address);
      to = (address as string | undefined) ?? this.#localhost();
    }
    if (cb !== undefined) validateFunction(cb, "callback");
    const done = (error: Error | null) => {
      if (cb) process.nextTick(cb, error, error ? 0 : data.length);
      else if (error) process.nextTick(() => this.emit("error", error));
    };
    try {
      this.#implicitBind();
      if (to === BROADCAST && !this.#broadcast) throw new TcpwasmError("EACCES", "broadcast not enabled (setBroadcast)");
      const sent = to === undefined ? this.#sock!.send(data) : this.#sock!.send(data, this.#unmapped(to), toPort);
      done(sent ? null : new NetError("EHOSTUNREACH", "send", to ?? this.#remote!.address, toPort ?? this.#remote!.port));
    } catch (error) {
      if (error instanceof TcpwasmError && !error.code.startsWith("ERR_")) done(toNetError(error, "send", to, toPort));
      else throw error;
    }
  }

  /**
   * The bound address.
   * @throws TcpwasmError ERR_SOCKET_DGRAM_NOT_RUNNING when closed, EBADF when not bound (as node:dgram).
   */
  address(): AddressInfo {
    this.#checkRunning();
    if (!this.#sock) throw new NetError("EBADF", "getsockname");
    return { address: this.#sock.localAddress, family: familyOf(this.#sock.localAddress), port: this.#sock.localPort };
  }

  /** The connected peer. @throws TcpwasmError ERR_SOCKET_DGRAM_NOT_CONNECTED, ERR_SOCKET_DGRAM_NOT_RUNNING. */
  remoteAddress(): AddressInfo {
    this.#checkRunning();
    if (!this.#remote) throw argumentError("ERR_SOCKET_DGRAM_NOT_CONNECTED", "Not connected");
    return { ...this.#remote };
  }

  /** Closes the socket; 'close' (and the callback) follow. @throws TcpwasmError ERR_SOCKET_DGRAM_NOT_RUNNING when already closed. */
  close(callback?: () => void): this {
    this.#checkRunning();
    if (callback !== undefined) {
      validateFunction(callback, "callback");
      this.once("close", callback);
    }
    this.#state = "closed";
    this.#sock?.close();
    this.#sock = undefined;
    this.#remote = undefined;
    process.nextTick(() => this.emit("close"));
    return this;
  }

  /** Allows datagrams to 255.255.255.255 (SO_BROADCAST). @throws NetError EBADF when not bound. */
  setBroadcast(flag: boolean): void {
    if (!this.#sock) throw new NetError("EBADF", "setBroadcast");
    this.#broadcast = Boolean(flag);
  }

  /** Accepted for node:dgram's sake: the stack sends with TTL 64. @throws NetError EBADF when not bound. */
  setTTL(ttl: number): number {
    validateInteger(ttl, "ttl", 1, 255);
    if (!this.#sock) throw new NetError("EBADF", "setTTL");
    return ttl;
  }

  /** The size given as recvBufferSize (or set since). */
  getRecvBufferSize(): number {
    this.#checkRunning();
    return this.#recvBufferSize;
  }

  /** The size given as sendBufferSize (or set since). */
  getSendBufferSize(): number {
    this.#checkRunning();
    return this.#sendBufferSize;
  }

  /** Remembers the size (the engine's regions do the buffering). */
  setRecvBufferSize(size: number): void {
    validateInteger(size, "size", 0, 2 ** 31 - 1);
    this.#recvBufferSize = size;
  }

  /** Remembers the size (the engine's regions do the buffering). */
  setSendBufferSize(size: number): void {
    validateInteger(size, "size", 0, 2 ** 31 - 1);
    this.#sendBufferSize = size;
  }

  /** The socket keeps the Node process alive while open (the default), as node:dgram's. */
  ref(): this {
    this.#refed = true;
    this.#sock?.ref();
    return this;
  }

  /** The socket no longer keeps the Node process alive. */
  unref(): this {
    this.#refed = false;
    this.#sock?.unref();
    return this;
  }

  #checkRunning(): void {
    if (this.#state === "closed") throw argumentError("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running");
  }

  #wildcard(): string {
    return this.type === "udp4" ? "0.0.0.0" : "::";
  }

  #localhost(): string {
    return this.type === "udp4" ? "127.0.0.1" : "::1";
  }

  #implicitBind(): void {
    if (this.#state === "unbound") {
      this.#bindNow(0, undefined);
      process.nextTick(() => this.emit("listening"));
    }
  }

  #bindNow(port: number, address: string | undefined): void {
    const local = address ?? this.#wildcard();
    const parsed = parseAddress(local);
    if (parsed && parsed.version !== (this.type === "udp4" ? 4 : 6)) {
      throw new TcpwasmError("EINVAL", `${local} is not an ${this.type === "udp4" ? "IPv4" : "IPv6"} address`);
    }
    // Bound to "::" without ipv6Only: every address of both versions, one port (a dual-stack socket).
    const dual = this.#dualStack && (parsed?.bytes.every((b) => b === 0) ?? false);
    this.#sock = this.#stack.openUdp({ localAddress: dual ? undefined : local, localPort: port, reuseAddress: this.#reuse }, this.#onMessage);
    // As node:dgram reports the kernel's pending socket error from its receive loop.
    this.#sock.onError((error) => {
      if (this.#state === "bound") this.emit("error", toNetError(error, "recvmsg"));
    });
    if (!this.#refed) this.#sock.unref();
    // The stack closed under the socket: 'close', as when a process's sockets go away.
    this.#sock.onClose((error) => {
      if (error === undefined || this.#state === "closed") return;
      this.#state = "closed";
      this.#sock = undefined;
      this.#remote = undefined;
      process.nextTick(() => this.emit("close"));
    });
    this.#state = "bound";
  }

  readonly #onMessage = (m: UdpMessage): void => {
    const msg = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    const address = this.#mapped(m.remoteAddress);
    this.emit("message", msg, { address, family: familyOf(address), port: m.remotePort, size: msg.length });
  };

  /** An IPv4 peer of a dual-stack socket as node:dgram shows it: IPv4-mapped (RFC 4291 2.5.5.2). */
  #mapped(address: string): string {
    return this.#dualStack && !address.includes(":") ? `::ffff:${address}` : address;
  }

  /** An IPv4-mapped address given to a dual-stack socket: the IPv4 address it stands for. */
  #unmapped(address: string): string {
    if (!this.#dualStack) return address;
    const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
    return m ? m[1]! : address;
  }
}

/** node:dgram's functions bound to one stack. */
export interface BoundDgram {
  /** dgram.createSocket on this stack. */
  createSocket(type: SocketType | DgramSocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void): Socket;
  /** dgram.Socket bound to this stack. */
  Socket: new (type: SocketType | DgramSocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void) => Socket;
}

/**
 * A dgram socket on `stack`: `createSocket(stack, type[, listener])`.
 * @throws TcpwasmError ERR_SOCKET_BAD_TYPE, ERR_INVALID_ARG_TYPE.
 */
export function createSocket(stack: Stack, type: SocketType | DgramSocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void): Socket {
  return new Socket(stack, type, listener);
}

/**
 * node:dgram's shape bound to `stack`.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE unless `stack` is a Stack from createStack.
 */
export function bindDgram(stack: Stack): BoundDgram {
  validateStack(stack);
  return {
    createSocket: (type, listener) => new Socket(stack, type, listener),
    Socket: class extends Socket {
      constructor(type: SocketType | DgramSocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void) {
        super(stack, type, listener);
      }
    },
  };
}

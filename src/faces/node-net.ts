// The Node face (tcpwasm/node): node:net's own shape bound to a stack.
//
//   import { bindNet } from "tcpwasm/node";
//   const net = bindNet(stack);                       // { createServer, connect, createConnection, Socket, Server }
//   net.createServer((socket) => socket.pipe(socket)).listen(7, () => ...);
//   const socket = net.connect({ host: "10.0.0.2", port: 7 }, () => socket.end("hi"));
//   http.request({ createConnection: () => net.connect({ host, port }), ... });   // Node's http, unmodified
//
// A Socket is a real stream.Duplex with net.Socket's events ('connect', 'ready', 'data', 'end',
// 'close'(hadError), 'error', 'timeout', 'drain', and for a name 'lookup', 'connectionAttempt',
// 'connectionAttemptFailed') and members. A name is looked up with the `lookup` option or the
// stack's resolver (StackOptions.dns; never the host's: the stack's network is not the host's), its
// addresses tried in order, without Happy Eyeballs racing. As with node:net, open sockets and
// listening servers keep the process alive until unref() (stack.unref() lets go of them all), while
// TIME-WAIT and the other protocol timers never do; a link may keep it alive on its own (a UdpLink's
// socket does, a memory link does not).
//
// Backpressure both ways:
// - Writing: `_write` calls back only once every byte is in the engine's send ring; a full ring waits
//   for the connection's writable callback. So write() returns false and 'drain' comes exactly as
//   with a kernel socket whose buffer is full.
// - Reading: when push() returns false the connection is paused (ws lib/stream.js style): unread data
//   stays in the receive ring and the window advertised to the peer shrinks; `_read` resumes it.
//
// Closing follows net.Socket: end() sends FIN after the queued data (half-close); with allowHalfOpen
// false (the default) the peer's FIN ends our side too; once both sides are done the socket is
// destroyed and its handle released, the engine finishing the protocol itself (LAST-ACK, TIME-WAIT),
// as a kernel does after close(2). destroy() releases at once (FIN, or RST if received data is left
// unread); resetAndDestroy() sends RST. Closing the stack destroys its sockets without an 'error'.
//
// Its parts: src/faces/node-socket.ts (Socket), src/faces/node-server.ts (Server),
// src/faces/node-args.ts (options and their checks), src/faces/node-errors.ts (NetError).
import { isIP } from "node:net";
import type { Stack } from "../tcp/stack.js";
import { normalizeConnectArgs, validateConnectOptions, validateStack, type ConnectArgs, type IpcConnectOptions, type SocketConnectOptions, type SocketConstructorOptions } from "./node-args.js";
import { Socket } from "./node-socket.js";
import { Server, type ServerOptions } from "./node-server.js";

export { Socket } from "./node-socket.js";
export { Server, type ServerOptions, type ListenOptions } from "./node-server.js";
export { NetError, LookupError } from "./node-errors.js";
export type { IpcConnectOptions, KeepAliveOptions, LookupAddress, LookupFunction, OnReadOptions, SocketConnectOptions, SocketConstructorOptions } from "./node-args.js";

/** node:net's functions and classes bound to one stack: a drop-in `net` for code that takes one. */
export interface BoundNet {
  /** net.createServer on this stack. */
  createServer(connectionListener?: (socket: Socket) => void): Server;
  /**
   * net.createServer on this stack.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options.
   */
  createServer(options?: ServerOptions, connectionListener?: (socket: Socket) => void): Server;
  /**
   * net.connect on this stack; what the network refuses arrives as an 'error' event, as in node:net.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options,
   * ERR_FEATURE_UNAVAILABLE_ON_PLATFORM for node:net's IPC form (`path`: a stack carries TCP/IP only).
   */
  connect(options: SocketConnectOptions | IpcConnectOptions, connectListener?: () => void): Socket;
  /**
   * net.connect(port[, host]) on this stack; a `host` that is a name goes to the stack's resolver
   * (StackOptions.dns), and none is "localhost": the stack's loopback addresses, ::1 then 127.0.0.1.
   */
  connect(port: number, host?: string, connectListener?: () => void): Socket;
  /** net.connect(port, connectListener) on this stack: to "localhost", the stack's loopback addresses. */
  connect(port: number, connectListener?: () => void): Socket;
  /**
   * net.connect(path): node:net's IPC form, which a stack cannot serve (a string of digits is a port).
   * @throws TcpwasmError ERR_FEATURE_UNAVAILABLE_ON_PLATFORM.
   */
  connect(path: string, connectListener?: () => void): Socket;
  /** The same as connect (net.createConnection). */
  createConnection(options: SocketConnectOptions | IpcConnectOptions, connectListener?: () => void): Socket;
  /** The same as connect(port[, host]) (net.createConnection). */
  createConnection(port: number, host?: string, connectListener?: () => void): Socket;
  /** The same as connect(port, connectListener) (net.createConnection). */
  createConnection(port: number, connectListener?: () => void): Socket;
  /** The same as connect(path) (net.createConnection): it throws ERR_FEATURE_UNAVAILABLE_ON_PLATFORM. */
  createConnection(path: string, connectListener?: () => void): Socket;
  /** net.Socket bound to this stack: `new Socket()` then socket.connect(). */
  Socket: new (options?: SocketConstructorOptions) => Socket;
  /** net.Server bound to this stack. */
  Server: new (options?: ServerOptions, connectionListener?: (socket: Socket) => void) => Server;
  /** node:net's isIP: 4, 6, or 0 for text that is not an IP address. */
  isIP: typeof isIP;
}

/** A server on `stack`: `createServer(stack[, options][, connectionListener])`. */
export function createServer(
  stack: Stack,
  options?: ServerOptions | ((socket: Socket) => void),
  connectionListener?: (socket: Socket) => void,
): Server {
  if (typeof options === "function") return new Server(stack, {}, options);
  return new Server(stack, options, connectionListener);
}

/**
 * A client socket on `stack`: `connect(stack, options[, listener])` or `connect(stack, port[, host][, listener])`
 * (no host: "localhost", the stack's loopback addresses).
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for a bad stack or options,
 * ERR_FEATURE_UNAVAILABLE_ON_PLATFORM for node:net's IPC form (a `path`; a stack carries TCP/IP only).
 */
export function connect(stack: Stack, ...args: ConnectArgs): Socket {
  validateStack(stack);
  const { options } = validateConnectOptions(normalizeConnectArgs(args).options);
  const socket = new Socket(stack, options);
  // The arguments as given (checked above): the overloads' one implementation takes them all.
  return (socket.connect as (...a: ConnectArgs) => Socket).apply(socket, args);
}

/**
 * node:net's shape bound to `stack`.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE unless `stack` is a Stack from createStack.
 */
export function bindNet(stack: Stack): BoundNet {
  validateStack(stack);
  return {
    createServer: ((options?: ServerOptions | ((socket: Socket) => void), listener?: (socket: Socket) => void) =>
      createServer(stack, options, listener)) as BoundNet["createServer"],
    connect: ((...args: ConnectArgs) => connect(stack, ...args)) as BoundNet["connect"],
    createConnection: ((...args: ConnectArgs) => connect(stack, ...args)) as BoundNet["createConnection"],
    Socket: class extends Socket {
      constructor(options?: SocketConstructorOptions) {
        super(stack, options);
      }
    },
    Server: class extends Server {
      constructor(options?: ServerOptions, connectionListener?: (socket: Socket) => void) {
        super(stack, options, connectionListener);
      }
    },
    isIP,
  };
}

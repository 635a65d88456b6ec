// The Node face's Server: node:net's Server over a stack's listener (the face's contract is at the
// top of src/faces/node-net.ts).
import { EventEmitter } from "node:events";
import { isIP } from "node:net";
import { TcpwasmError } from "../core/errors.js";
import type { Stack, StackConnection, StackListener } from "../tcp/stack.js";
import { argumentError, invalidType, invalidValue, optionsObject, validateFunction } from "../core/validate.js";
import { NetError, notFound, toNetError } from "./node-errors.js";
import { familyOf, validateNetPort, validateStack, type Family } from "./node-args.js";
import { Socket, destroyHooks } from "./node-socket.js";

/** Options of createServer(), as net.createServer takes them. */
export interface ServerOptions {
  /** Accepted sockets keep their writable side open after the peer's FIN. Default false. */
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused (no reading until resume()). */
  pauseOnConnect?: boolean;
  /** Disable Nagle's algorithm on accepted sockets. Default false. */
  noDelay?: boolean;
  /** Keepalive probes on accepted sockets (RFC 1122 4.2.3.6). Default false. */
  keepAlive?: boolean;
  /** Idle time before the first keepalive probe of an accepted socket, ms. */
  keepAliveInitialDelay?: number;
}

/** Options of server.listen(), as net.Server takes them. */
export interface ListenOptions {
  /** The port; 0 or absent: a free port from the dynamic range (RFC 6335 6). */
  port?: number;
  /** One of the stack's addresses; default all of them. */
  host?: string;
  /** Cap on half-open (SYN-RECEIVED) connections. Default: the engine's `maxHalfOpenPerListener`. */
  backlog?: number;
}

declare module "./node-socket.js" {
  interface Socket {
    /** The server that accepted this socket, null on a socket no server accepted (as node:net) (node:net's socket.server). */
    server: Server | null;
  }
}

/** The first port tried for listen(0), and the range it draws from (IANA's dynamic ports). */
const DYNAMIC_LOW = 49152;
const DYNAMIC_HIGH = 65535;

let connectionsWarned = false;

/** Once per process, as util.deprecate: Server.connections is Node's DEP0020. */
function warnConnections(): void {
  if (connectionsWarned) return;
  connectionsWarned = true;
  process.emitWarning("Server.connections property is deprecated. Use Server.getConnections method instead.", "DeprecationWarning", "DEP0020");
}

/** node:net's Server on a tcpwasm stack: listen, 'connection', close, address. Made by createServer(). */
export class Server extends EventEmitter {
  /**
   * Connections beyond this many are refused with RST (net.Server.maxConnections); unset (undefined, as
   * in node:net, whose type says number): no limit.
   */
  declare maxConnections: number;
  readonly #stack: Stack;
  readonly #options: ServerOptions;
  #listener: StackListener | undefined;
  #refed = true;
  #address: { address: string; family: Family; port: number } | undefined;
  #connections = new Set<Socket>();
  #closing = false;

  /**
   * A server on `stack` (createServer and bindNet's `Server` bind the stack).
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE for a bad stack or options.
   */
  constructor(stack: Stack, options?: ServerOptions, connectionListener?: (socket: Socket) => void) {
    super();
    validateStack(stack);
    this.#stack = stack;
    this.#options = optionsObject(options, "options");
    // node:net ignores a connection listener that is not a function.
    if (typeof connectionListener === "function") this.on("connection", connectionListener);
  }

  /** True while listening. */
  get listening(): boolean {
    return this.#listener !== undefined;
  }

  /** `listen(port[, host][, backlog][, callback])` or `listen({ port, host, backlog }[, callback])`; port 0 picks a free one. */
  listen(...args: unknown[]): this {
    const last = args[args.length - 1];
    const callback = typeof last === "function" ? (last as () => void) : undefined;
    if (callback) args.pop();
    let options: ListenOptions;
    if (typeof args[0] === "object" && args[0] !== null) options = args[0] as ListenOptions;
    else {
      options = { port: args[0] === undefined || args[0] === null ? 0 : (args[0] as number) };
      if (typeof args[1] === "string") options.host = args[1];
      const backlog = typeof args[1] === "number" ? args[1] : args[2];
      if (typeof backlog === "number") options.backlog = backlog;
    }
    if (args.length > 0 && typeof args[0] === "object" && args[0] !== null && options.port === undefined) {
      invalidValue("options", options, 'must have the property "port"');
    }
    const requested = options.port === undefined ? 0 : validateNetPort(options.port, "options.port", true);
    if (options.host !== undefined && typeof options.host !== "string") invalidType("options.host", "of type string", options.host);
    // node:net ignores a backlog that is no non-negative integer.
    const backlog = Number.isInteger(options.backlog) && options.backlog! >= 0 ? options.backlog : undefined;
    if (this.#listener) throw argumentError("ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing.");
    if (callback) this.once("listening", callback);
    const host = options.host === "0.0.0.0" || options.host === "::" ? undefined : options.host;
    if (host !== undefined && isIP(host) === 0) {
      const err = notFound(host);
      process.nextTick(() => this.emit("error", err));
      return this;
    }
    const onConnection = (conn: StackConnection) => this.#accept(conn);
    try {
      if (requested !== 0) {
        this.#listener = this.#stack.openListener({ port: requested, address: host, backlog }, onConnection);
      } else {
        // Dynamic port: start anywhere in the range and take the first free one.
        const span = DYNAMIC_HIGH - DYNAMIC_LOW + 1;
        const start = Math.floor(Math.random() * span);
        for (let i = 0; i < span && !this.#listener; i++) {
          try {
            const port = DYNAMIC_LOW + ((start + i) % span);
            this.#listener = this.#stack.openListener({ port, address: host, backlog }, onConnection);
          } catch (error) {
            if (!(error instanceof TcpwasmError) || error.code !== "EADDRINUSE") throw error;
          }
        }
        if (!this.#listener) throw new TcpwasmError("EADDRINUSE", "no free port");
      }
    } catch (error) {
      const shown = host ?? this.#anyAddress();
      const err = error instanceof TcpwasmError && error.code === "EADDRINUSE"
        ? new NetError("EADDRINUSE", "listen", shown, requested, "address already in use")
        : toNetError(error, "listen", shown, requested);
      process.nextTick(() => this.emit("error", err));
      return this;
    }
    if (!this.#refed) this.#listener.unref();
    const address = host ?? this.#anyAddress();
    this.#address = { address, family: familyOf(address), port: this.#listener.port };
    this.#closing = false;
    process.nextTick(() => this.emit("listening"));
    return this;
  }

  #anyAddress(): string {
    return this.#stack.wildcardAddress;
  }

  #accept(conn: StackConnection): void {
    if (this.maxConnections !== undefined && this.#connections.size >= this.maxConnections) {
      conn.abort();
      return;
    }
    const o = this.#options;
    const socket = new Socket(this.#stack, { allowHalfOpen: o.allowHalfOpen });
    socket.server = this;
    if (o.noDelay) socket.setNoDelay(true);
    if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveInitialDelay ?? 0);
    socket.accept(conn, Boolean(o.pauseOnConnect));
    this.#connections.add(socket);
    destroyHooks.set(socket, () => {
      this.#connections.delete(socket);
      this.#emitCloseIfDrained();
    });
    this.emit("connection", socket);
  }

  /**
   * Stops accepting; 'close' follows once every accepted connection is destroyed. On a server that is
   * not listening the callback gets ERR_SERVER_NOT_RUNNING (at the 'close' this emits, as node:net).
   */
  close(callback?: (error?: Error) => void): this {
    // node:net ignores a callback that is not a function.
    if (typeof callback === "function") {
      if (!this.#listener) {
        const err = Object.assign(new Error("Server is not running."), { code: "ERR_SERVER_NOT_RUNNING" });
        this.once("close", () => callback(err));
      } else this.once("close", callback);
    }
    if (this.#listener) {
      this.#listener.close();
      this.#listener = undefined;
    }
    this.#closing = true;
    this.#emitCloseIfDrained();
    return this;
  }

  #emitCloseIfDrained(): void {
    if (!this.#closing || this.#listener || this.#connections.size > 0) return;
    process.nextTick(() => {
      if (this.#listener || this.#connections.size > 0) return;
      this.#closing = false;
      this.emit("close");
    });
  }

  /** The address, family and port listened on, or null when not listening (net.Server.address). */
  address(): { address: string; family: Family; port: number } | null {
    return this.#listener ? this.#address! : null;
  }

  /**
   * The number of open connections, as node:net's Server.connections had it.
   * @deprecated Use getConnections() (Node's DEP0020); a warning is emitted on first use.
   */
  get connections(): number {
    warnConnections();
    return this.#connections.size;
  }

  /** Closes the server and resolves once it has closed, as net.Server's (at once when not listening). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#listener) return;
    await new Promise<void>((resolve, reject) => this.close((error) => (error ? reject(error) : resolve())));
  }

  /** Calls back with the number of open connections (net.Server.getConnections). */
  getConnections(callback: (error: Error | null, count: number) => void): this {
    validateFunction(callback, "callback");
    const n = this.#connections.size;
    process.nextTick(() => callback(null, n));
    return this;
  }

  /** Lets the listening server keep the process alive again (net.Server.ref; the default). */
  ref(): this {
    this.#refed = true;
    this.#listener?.ref();
    return this;
  }

  /** Lets the process exit while only this server is open (net.Server.unref); its sockets still count. */
  unref(): this {
    this.#refed = false;
    this.#listener?.unref();
    return this;
  }
}

// A connection to any destination that reached the stack on a gateway link (assembly/engine/forward.ts),
// held in SYN-RECEIVED without an answer until the user decides: accept() sends the SYN,ACK (after
// the user has connected the far side, so the guest sees the far side's answer, as slirp and gVisor's
// forwarder do), refuse() sends a RST or an ICMP destination unreachable. Browser-safe.
import { TcpwasmError } from "../core/errors.js";
import { validateOneOf } from "../core/validate.js";
import type { StackConnection } from "./connection.js";

/** How a held connection is refused: a RST (as a closed port), or ICMP destination unreachable (host, port, administratively prohibited). */
export type Refusal = "reset" | "host" | "port" | "admin";

const REFUSALS: readonly Refusal[] = ["reset", "host", "port", "admin"];

/** @internal What a held connection needs from its stack. */
export interface HeldHost {
  accept(conn: StackConnection): void;
  refuse(conn: StackConnection, how: Refusal): void;
}

/**
 * A guest's connection attempt to any address and port, from Stack.openForwarder. The guest sees
 * nothing until accept() or refuse(); a guest that gives up (RST) closes `connection` with ECONNRESET.
 * A connection completed by a SYN cookie under a SYN flood arrives already established: accept() is
 * then a no-op and refuse() resets it.
 */
export class HeldConnection {
  readonly #host: HeldHost;
  #decided: boolean;

  /** @internal Made by the stack. */
  constructor(
    host: HeldHost,
    /** The connection: its handlers may be set at once; data written now leaves once it is established. */
    readonly connection: StackConnection,
    /** False for a connection a SYN cookie completed before anyone was asked. */
    readonly held: boolean,
  ) {
    this.#host = host;
    this.#decided = !held;
  }

  /** The guest's address. */
  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  /** The guest's port. */
  get remotePort(): number {
    return this.connection.remotePort;
  }

  /** The address the guest connected to. */
  get localAddress(): string {
    return this.connection.localAddress;
  }

  /** The port the guest connected to. */
  get localPort(): number {
    return this.connection.localPort;
  }

  /**
   * Answers the guest's SYN; `connection.onConnect` follows when the handshake completes.
   * @throws TcpwasmError ERR_INVALID_STATE when already accepted or refused.
   */
  accept(): StackConnection {
    if (!this.held) return this.connection;
    this.#decide();
    this.#host.accept(this.connection);
    return this.connection;
  }

  /**
   * Refuses the connection: `how` "reset" (default) a RST as from a closed port; "host", "port" or
   * "admin" an ICMP destination unreachable (RFC 792 codes 1, 3, 13; RFC 4443 3.1 codes 3, 4, 1).
   * The connection closes without an error.
   * @throws TcpwasmError ERR_INVALID_ARG_VALUE for another `how`, ERR_INVALID_STATE when already decided.
   */
  refuse(how: Refusal = "reset"): void {
    validateOneOf(how, "how", REFUSALS);
    if (!this.held) {
      this.connection.abort();
      return;
    }
    this.#decide();
    this.#host.refuse(this.connection, how);
  }

  /** Whether accept() or refuse() was called (or there was nothing to decide). */
  get decided(): boolean {
    return this.#decided;
  }

  #decide(): void {
    if (this.#decided) throw new TcpwasmError("ERR_INVALID_STATE", `${this.connection.describe()}: already accepted or refused`);
    this.#decided = true;
  }
}

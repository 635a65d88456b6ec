// Per-client limits of `tcpwasm relay`: concurrent connections, a byte rate (token bucket shared by
// all of a client's connections, both directions) and a total byte budget. A client is its remote
// address. Its account lives while it has a connection open and for `forgetAfterMs` after the last
// one closed, so reconnecting does not reset the total at once; the table is bounded by maxClients.

/** The limits one client gets. 0 or Infinity: no limit. */
export interface ClientLimits {
  /** WebSockets open at once; separately, inbound connections through its published ports at once. */
  maxConnections: number;
  /** Bytes per second, both directions together, over all of the client's connections. */
  bytesPerSecond: number;
  /** Bytes in total, both directions, while the account lives. */
  maxBytes: number;
}

/** A token bucket: `rate` bytes per second, holding at most `burst`. */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Spends `n` bytes (the balance may go below zero) and returns how long, ms, the spender should wait before it goes on. */
  take(n: number, now: number): number {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.rate) / 1000);
    this.#at = now;
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.rate;
  }

  /** Spends `n` bytes if the bucket holds them and says whether it did: for packets, which are dropped rather than delayed. */
  tryTake(n: number, now: number): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.rate) / 1000);
    this.#at = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}

/** One client's usage. */
export class ClientAccount {
  /** WebSockets open now. */
  connections = 0;
  /** Connections from the relay's published ports into this client's tunnel, open now. */
  inbound = 0;
  /** Bytes moved, both directions. */
  bytes = 0;
  /** When the last connection closed (ms, the relay's clock). */
  idleSince = 0;
  readonly #bucket: TokenBucket | undefined;

  constructor(
    /** The client's remote address. */
    readonly address: string,
    readonly limits: ClientLimits,
    now: number,
  ) {
    const rate = limits.bytesPerSecond;
    // A quarter of a second's worth of burst: smooth enough for TCP, short enough to hold the rate.
    this.#bucket = rate > 0 && rate !== Infinity ? new TokenBucket(rate, Math.max(128 * 1024, rate / 4), now) : undefined;
  }

  /** Whether another connection is within maxConnections. */
  get canConnect(): boolean {
    const max = this.limits.maxConnections;
    return !(max > 0) || this.connections < max;
  }

  /**
   * Whether another inbound connection (a published port's) is within maxConnections: counted apart
   * from the client's WebSockets, so strangers filling its published port cannot keep the client
   * itself from reconnecting.
   */
  get canAcceptInbound(): boolean {
    const max = this.limits.maxConnections;
    return !(max > 0) || this.inbound < max;
  }

  /**
   * Counts `n` bytes moved: returns "quota" once the total is spent, otherwise the ms the mover should
   * pause for the rate to hold (0: go on).
   */
  spend(n: number, now: number): number | "quota" {
    this.bytes += n;
    const max = this.limits.maxBytes;
    if (max > 0 && this.bytes > max) return "quota";
    return this.#bucket ? this.#bucket.take(n, now) : 0;
  }

  /**
   * Counts one packet of `n` bytes: "quota" once the total is spent, "rate" when the bucket cannot pay
   * for it now (the packet is dropped and costs nothing; TCP backs off), "ok" otherwise.
   */
  admitPacket(n: number, now: number): "ok" | "rate" | "quota" {
    const max = this.limits.maxBytes;
    if (max > 0 && this.bytes + n > max) return "quota";
    if (this.#bucket && !this.#bucket.tryTake(n, now)) return "rate";
    this.bytes += n;
    return "ok";
  }
}

/** Every client's account, bounded. */
export class ClientTable {
  readonly #accounts = new Map<string, ClientAccount>();

  constructor(
    readonly limits: ClientLimits,
    /** Most clients tracked at once; beyond it new clients are refused. */
    readonly maxClients: number,
    /** How long an account outlives its last connection, ms. */
    readonly forgetAfterMs: number,
  ) {}

  /** Clients tracked. */
  get size(): number {
    return this.#accounts.size;
  }

  /** The account of `address`, created if the table has room; undefined when it is full. */
  account(address: string, now: number): ClientAccount | undefined {
    let a = this.#accounts.get(address);
    if (a) return a;
    if (this.#accounts.size >= this.maxClients) {
      this.sweep(now);
      if (this.#accounts.size >= this.maxClients) return undefined;
    }
    a = new ClientAccount(address, this.limits, now);
    this.#accounts.set(address, a);
    return a;
  }

  /** Forgets accounts without connections for forgetAfterMs. */
  sweep(now: number): void {
    for (const [k, a] of this.#accounts) if (a.connections === 0 && now - a.idleSince >= this.forgetAfterMs) this.#accounts.delete(k);
  }
}

// The stack's own name resolution, for its connects (the Web face's connect({ hostname }), the Node
// face's connect({ host })): IP address text stands for itself and never reaches a resolver; a name
// goes to the resolver StackOptions.dns configures. Failures carry getaddrinfo's codes as Node names
// them: ENOTFOUND (no such name, no address of the family asked, or no resolver at all) and
// EAI_AGAIN (no answer in time, or a failure worth trying again later). Browser-safe.
import { formatIpv4, formatIpv6, parseAddress } from "../core/address.js";
import { TcpwasmError } from "../core/errors.js";
import { Stack } from "../tcp/stack.js";
import { invalidType, validateOneOf, validateString } from "../core/validate.js";
import { StackDnsClient, type DnsClientCounters } from "./dns-client.js";

/** The address family asked for: 4, 6, or 0 for both. */
export type AddressFamily = 0 | 4 | 6;

/** A name that did not resolve: ENOTFOUND or EAI_AGAIN, with the name asked. */
export class ResolveError extends TcpwasmError {
  /** The name that did not resolve. */
  readonly hostname: string;
  /** The message reads "<code>: <hostname>: <why>". */
  constructor(code: "ENOTFOUND" | "EAI_AGAIN", hostname: string, why: string) {
    super(code, `${hostname}: ${why}`);
    this.name = "ResolveError";
    this.hostname = hostname;
  }
}

/** @internal The first-round timeout when StackOptions.dns leaves it out, ms. */
export const DEFAULT_DNS_TIMEOUT_MS = 1000;
/** @internal The rounds of queries when StackOptions.dns leaves them out. */
export const DEFAULT_DNS_ATTEMPTS = 3;

/** @internal How long a name may take in all, ms: every round of the retry plan, each twice the one before. */
export function resolveBudgetMs(stack: Stack): number {
  const timeout = stack.dns?.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS;
  const attempts = stack.dns?.attempts ?? DEFAULT_DNS_ATTEMPTS;
  return timeout * (2 ** attempts - 1);
}

/** @internal IP address text in its canonical form (RFC 5952 for IPv6), or null for anything else. */
export function addressLiteral(text: string): { address: string; version: 4 | 6 } | null {
  const a = parseAddress(text);
  if (!a) return null;
  return { address: a.version === 4 ? formatIpv4(a.bytes) : formatIpv6(a.bytes), version: a.version };
}

/**
 * The addresses to try for `hostname`, in order, of `family` (0: both). IP address text gives itself
 * (whatever `family` says, as node:net connects to a literal without a lookup); "localhost" and the
 * names under it give the loopback addresses without asking anyone (RFC 6761 6.3). Rejects with a
 * ResolveError, or ERR_INVALID_RETURN_VALUE / ERR_INVALID_IP_ADDRESS when a resolve function of
 * yours answers with something that is not a list of addresses, or an argument error.
 */
export async function resolveHost(stack: Stack, hostname: string, family: AddressFamily = 0): Promise<string[]> {
  if (!(stack instanceof Stack)) invalidType("stack", "an instance of Stack (from createStack)", stack);
  validateString(hostname, "hostname");
  validateOneOf(family, "family", [0, 4, 6]);
  const literal = addressLiteral(hostname);
  if (literal) return [literal.address];
  if (/^(?:.+\.)?localhost\.?$/i.test(hostname)) return loopback(stack, family);
  const dns = stack.dns;
  if (!dns) throw new ResolveError("ENOTFOUND", hostname, "the stack resolves no names (StackOptions.dns)");
  if (dns.resolve) {
    const resolve = dns.resolve;
    const answer = await withDeadline(stack, hostname, () => resolve(hostname, family));
    return checkedAddresses(hostname, family, answer);
  }
  try {
    return await dnsClient(stack, dns.servers!).resolve(hostname, family);
  } catch (error) {
    if (error instanceof TcpwasmError && (error.code === "ENOTFOUND" || error.code === "EAI_AGAIN")) {
      throw new ResolveError(error.code, hostname, error.message.slice(error.code.length + 2));
    }
    throw error;
  }
}

const clients = new WeakMap<Stack, StackDnsClient>();

/** The stack's DNS client, made on first use (it holds the cache). */
function dnsClient(stack: Stack, servers: readonly string[]): StackDnsClient {
  let client = clients.get(stack);
  if (!client) {
    client = new StackDnsClient(stack, servers, stack.dns?.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS, stack.dns?.attempts ?? DEFAULT_DNS_ATTEMPTS);
    clients.set(stack, client);
  }
  return client;
}

/** What the stack's DNS client (StackOptions.dns.servers) has done so far; undefined before its first query. */
export function dnsClientCounters(stack: Stack): Readonly<DnsClientCounters> | undefined {
  return clients.get(stack)?.counters;
}

/** RFC 6761 6.3: the loopback addresses of the families the stack has (IPv6 first, as for DNS answers). */
function loopback(stack: Stack, family: AddressFamily): string[] {
  const out: string[] = [];
  if ((family === 0 && stack.addresses.some((a) => a.includes(":"))) || family === 6) out.push("::1");
  if ((family === 0 && stack.addresses.some((a) => !a.includes(":"))) || family === 4) out.push("127.0.0.1");
  return out;
}

/** Runs `ask`, rejecting with EAI_AGAIN once the stack's resolve budget is spent (the stack's timers). */
function withDeadline<T>(stack: Stack, hostname: string, ask: () => Promise<T>): Promise<T> {
  const budget = resolveBudgetMs(stack);
  return new Promise<T>((resolve, reject) => {
    const timer = stack.timers.setTimeout(() => reject(new ResolveError("EAI_AGAIN", hostname, `no answer within ${budget} ms`)), budget);
    const settle = (ok: boolean, value: unknown) => {
      stack.timers.clearTimeout(timer);
      if (ok) resolve(value as T);
      else reject(resolveFailure(hostname, value));
    };
    let answer: Promise<T>;
    try {
      answer = Promise.resolve(ask());
    } catch (error) {
      settle(false, error);
      return;
    }
    answer.then((v) => settle(true, v), (e) => settle(false, e));
  });
}

/** A resolver function's rejection as getaddrinfo would report it (Node's dns errors keep their code). */
function resolveFailure(hostname: string, error: unknown): TcpwasmError {
  const code = (error as { code?: unknown } | null)?.code;
  const why = error instanceof Error ? error.message : String(error);
  // ENODATA: the name exists without addresses of the family asked (RFC 2308 2.2): nothing to connect to.
  if (code === "ENOTFOUND" || code === "ENODATA") return new ResolveError("ENOTFOUND", hostname, why);
  return new ResolveError("EAI_AGAIN", hostname, why);
}

/** The resolver function's answer, checked: canonical address text of the family asked, duplicates dropped. */
function checkedAddresses(hostname: string, family: AddressFamily, answer: unknown): string[] {
  if (!Array.isArray(answer)) {
    throw new TcpwasmError("ERR_INVALID_RETURN_VALUE", `StackOptions.dns.resolve must resolve to an array of addresses for ${hostname}; got ${typeof answer}`);
  }
  const out: string[] = [];
  for (const item of answer) {
    const a = typeof item === "string" ? addressLiteral(item) : null;
    if (!a) throw new TcpwasmError("ERR_INVALID_IP_ADDRESS", `StackOptions.dns.resolve gave ${JSON.stringify(item) ?? String(item)} for ${hostname}, not an IP address`);
    if ((family === 0 || a.version === family) && !out.includes(a.address)) out.push(a.address);
  }
  if (out.length === 0) throw new ResolveError("ENOTFOUND", hostname, family === 0 ? "no address" : `no IPv${family} address`);
  return out;
}

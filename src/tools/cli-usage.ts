// Argument handling shared by the `tcpwasm` subcommands: strict option parsing and the usage error
// that makes the command exit 2 with its message.
import { parseArgs } from "node:util";

/** A mistake in the command line: printed with a pointer to `tcpwasm help`, exit status 2. */
export class UsageError extends Error {}

/** A decimal integer option in min..max; `fallback` when absent, required when there is none. */
export function integer(value: string | undefined, name: string, min: number, max: number, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`${name} is required`);
    return fallback;
  }
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer in ${min}..${max}, got "${value}"`);
  return n;
}

type OptionSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean }>;

/** node:util parseArgs in strict mode with exactly `positionals` positional arguments; any failure is a UsageError. */
export function parse<T extends OptionSpec>(args: string[], options: T, positionals = 0) {
  try {
    const r = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
    if (r.positionals.length !== positionals) {
      throw new UsageError(positionals ? `expected ${positionals} arguments, got ${r.positionals.length}` : `unexpected argument "${r.positionals[0]}"`);
    }
    return r;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
}

// Argument checks for every public entry, in one place: each throws a TcpwasmError with Node's code
// for the kind of misuse (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE, ...) and a
// message that names the argument as the caller wrote it ("options.remotePort", "config.txRegion"),
// the way node:net words its own. Browser-safe: no Node built-in.
import { TcpwasmError, type ErrorCode } from "./errors.js";

/** What the caller passed, for a message: "type number (42)", "an instance of ArrayBuffer", "null". */
export function received(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "function") return `function ${value.name || "<anonymous>"}`;
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name && name !== "Object" ? `an instance of ${name}` : `${shown(value)}`;
  }
  return `type ${typeof value} (${shown(value)})`;
}

function shown(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? `'${value}'` : typeof value === "bigint" ? `${value}n` : typeof value === "object" ? JSON.stringify(value) : String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** An argument is named "x", a property of one "options.x" (Node says "argument" and "property"). */
function subject(name: string): string {
  return name.includes(".") ? `The "${name}" property` : `The "${name}" argument`;
}

export function argumentError(code: ErrorCode, message: string): TcpwasmError {
  return new TcpwasmError(code, message);
}

/** Throws ERR_INVALID_ARG_TYPE: `name` must be `expected` ("of type number", "an ArrayBuffer or ArrayBufferView"). */
export function invalidType(name: string, expected: string, value: unknown): never {
  throw argumentError("ERR_INVALID_ARG_TYPE", `${subject(name)} must be ${expected}. Received ${received(value)}`);
}

/** Throws ERR_INVALID_ARG_VALUE: `name` has the right type and an unusable value (`why`). */
export function invalidValue(name: string, value: unknown, why: string): never {
  throw argumentError("ERR_INVALID_ARG_VALUE", `${subject(name)} ${why}. Received ${shown(value)}`);
}

/** Throws ERR_OUT_OF_RANGE: `name` must be `range` (">= 1 && <= 65535", "an integer"). */
export function outOfRange(name: string, range: string, value: unknown): never {
  throw argumentError("ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be ${range}. Received ${shown(value)}`);
}

/** A plain object (not null, not an array). */
export function validateObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) invalidType(name, "of type object", value);
}

/** An optional options object: undefined gives {}. */
export function optionsObject<T extends object>(value: T | undefined, name: string): T {
  if (value === undefined) return {} as T;
  validateObject(value, name);
  return value;
}

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== "string") invalidType(name, "of type string", value);
}

export function validateFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== "function") invalidType(name, "of type function", value);
}

export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== "boolean") invalidType(name, "of type boolean", value);
}

/** A finite number in min..max. */
export function validateNumber(value: unknown, name: string, min = -Infinity, max = Infinity): asserts value is number {
  if (typeof value !== "number") invalidType(name, "of type number", value);
  if (!Number.isFinite(value) || value < min || value > max) outOfRange(name, rangeText(min, max, false), value);
}

/** An integer in min..max. */
export function validateInteger(value: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== "number") invalidType(name, "of type number", value);
  if (!Number.isInteger(value) || value < min || value > max) outOfRange(name, rangeText(min, max, true), value);
}

function rangeText(min: number, max: number, integer: boolean): string {
  const kind = integer ? "an integer" : "a finite number";
  if (min === -Infinity || min === Number.MIN_SAFE_INTEGER) return max === Infinity || max === Number.MAX_SAFE_INTEGER ? kind : `${kind} <= ${max}`;
  return max === Infinity || max === Number.MAX_SAFE_INTEGER ? `${kind} >= ${min}` : `${kind} >= ${min} && <= ${max}`;
}

/** A TCP port: an integer in 1..65535 (0 too with `allowZero`: "pick one"). */
export function validatePort(value: unknown, name: string, allowZero = false): asserts value is number {
  validateInteger(value, name, allowZero ? 0 : 1, 65535);
}

/** One of `allowed`. */
export function validateOneOf<T>(value: unknown, name: string, allowed: readonly T[]): asserts value is T {
  if (!allowed.includes(value as T)) {
    if (typeof value !== typeof allowed[0]) invalidType(name, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`, value);
    invalidValue(name, value, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
  }
}


/** Options an entry does not know are a typo or a misunderstanding, not something to ignore. */
export function validateKnownKeys(value: Record<string, unknown>, name: string, known: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) invalidValue(`${name}.${key}`, value[key], `is not an option (known: ${[...known].join(", ")})`);
  }
}

/**
 * Bytes to send: a Uint8Array as it is, any other ArrayBufferView (DataView, Int16Array, Buffer, ...)
 * and an ArrayBuffer or SharedArrayBuffer as a view of their bytes; anything else is ERR_INVALID_ARG_TYPE.
 */
export function toBytes(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer)) {
    return new Uint8Array(value);
  }
  return invalidType(name, "an ArrayBuffer or an ArrayBufferView (Uint8Array, DataView, ...)", value);
}

/** A Uint8Array exactly (for entries that read bytes in place: packets, secrets). */
export function validateUint8Array(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) invalidType(name, "an instance of Uint8Array", value);
}


/** An array whose every item passes `check` (named "name[i]"). */
export function validateArray(value: unknown, name: string, check?: (item: unknown, name: string) => void, minLength = 0): asserts value is unknown[] {
  if (!Array.isArray(value)) invalidType(name, "an instance of Array", value);
  if (value.length < minLength) invalidValue(name, value, `must hold at least ${minLength} item${minLength === 1 ? "" : "s"}`);
  if (check) for (let i = 0; i < value.length; i++) check(value[i], `${name}[${i}]`);
}

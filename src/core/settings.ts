// What each engine setting and connection option takes, checked in the host so that a bad value is
// named in the error (as the caller wrote it: "options.config.rtoMinMs") before the engine sees it;
// the engine refuses the same values itself (assembly/engine/config.ts configSet,
// assembly/engine/user.ts connSetOption). Browser-safe.
import { ConfigKey, ConnOption, EPHEMERAL_DEFAULT, REGION_MAX } from "./boundary.js";
import { invalidType, invalidValue, optionsObject, validateInteger, validateNumber } from "./validate.js";

export type EngineConfig = Partial<Record<keyof typeof ConfigKey, number | boolean>>;
export type ConnectionOptions = Partial<Record<keyof typeof ConnOption, number | boolean>>;

/** "flag": a boolean, or 0/1; else [min, max, integer]. */
type Range = "flag" | readonly [number, number, boolean];

const U32 = 0xffffffff;

/** What each ConfigKey takes, as assembly/engine/config.ts enforces it. A key missing here is checked by the engine only. */
const CONFIG_RANGES: Partial<Record<keyof typeof ConfigKey, Range>> = {
  maxConnections: [1, 1 << 20, true],
  timeWaitMax: [0, 1 << 20, true],
  maxHalfOpenTotal: [0, U32, true],
  maxHalfOpenPerListener: [0, U32, true],
  sendBuffer: [1024, 1 << 30, true],
  recvBuffer: [1024, 1 << 30, true],
  mslMs: [0, U32, false],
  rtoMinMs: [1, U32, false],
  rtoMaxMs: [1, U32, false],
  rtoInitialMs: [1, U32, false],
  synRetries: [0, U32, true],
  dataRetries: [0, U32, true],
  delayedAckMs: [0, 200, false],
  keepalive: "flag",
  keepaliveIdleMs: [1, U32, false],
  keepaliveIntervalMs: [1, U32, false],
  keepaliveCount: [1, U32, true],
  persistMinMs: [1, U32, false],
  persistMaxMs: [1, U32, false],
  persistTotalMs: [0, U32, false],
  mtu: [128, 65535, true],
  trace: "flag",
  verifyChecksums: "flag",
  windowScaling: "flag",
  timestamps: "flag",
  sack: "flag",
  challengeAckLimit: [0, U32, true],
  txRegion: [65536 + 4096, REGION_MAX, true],
  rxRegion: [65536 + 4096, REGION_MAX, true],
  eventLimit: [64, U32, true],
  ephemeralLow: [1, 65535, true],
  ephemeralHigh: [1, 65535, true],
  nagle: "flag",
  userTimeoutMs: [0, U32, false],
  controlQueue: [4096, REGION_MAX, true],
  stateEvents: "flag",
  synCookies: "flag",
  memoryLimit: [0, 2 ** 48, true],
  quickAcks: [0, U32, true],
};

/** What each ConnOption takes (assembly/engine/user.ts connSetOption), as CONFIG_RANGES. */
const CONN_OPTION_RANGES: Record<keyof typeof ConnOption, Range> = {
  noDelay: "flag",
  keepalive: "flag",
  keepaliveIdleMs: [1, U32, false],
  keepaliveIntervalMs: [1, U32, false],
  keepaliveCount: [1, U32, true],
  userTimeoutMs: [0, U32, false],
  sendBuffer: [1024, 1 << 30, true],
  recvBuffer: [1024, 1 << 30, true],
};

/** Checks an engine configuration (named `name` in errors): known keys, types, ranges, a low..high ephemeral range. */
export function validateEngineConfig(config: unknown, name = "config"): asserts config is EngineConfig {
  const c = optionsObject(config as EngineConfig | undefined, name) as Record<string, unknown>;
  for (const [key, value] of Object.entries(c)) {
    if (value === undefined) continue;
    const what = `${name}.${key}`;
    if (!Object.hasOwn(ConfigKey, key)) invalidValue(what, value, `is not an engine setting (known: ${Object.keys(ConfigKey).join(", ")})`);
    validateSetting(value, what, CONFIG_RANGES[key as keyof typeof ConfigKey]);
  }
  const low = (c.ephemeralLow as number | undefined) ?? EPHEMERAL_DEFAULT.low;
  const high = (c.ephemeralHigh as number | undefined) ?? EPHEMERAL_DEFAULT.high;
  if (low > high) invalidValue(`${name}.ephemeralLow`, low, `must not exceed ${name}.ephemeralHigh (${high}): the range is low..high`);
}

/** Checks one setting against its range. */
function validateSetting(value: unknown, what: string, range: Range | undefined): void {
  if (range === "flag") {
    if (typeof value !== "boolean" && value !== 0 && value !== 1) invalidType(what, "of type boolean (or 0 or 1)", value);
  } else if (range) {
    if (range[2]) validateInteger(value, what, range[0], range[1]);
    else validateNumber(value, what, range[0], range[1]);
  } else if (typeof value !== "number" && typeof value !== "boolean") invalidType(what, "of type number or boolean", value);
}

/**
 * Checks per-connection options given among other keys of `options` (named `name`): the keys in
 * `others` belong to the caller, every other key must be a ConnOption with a value in its range.
 */
export function validateConnectionOptions(options: Record<string, unknown>, name: string, others: ReadonlySet<string>): void {
  for (const key in options) {
    if (others.has(key)) continue;
    const value = options[key];
    if (value === undefined) continue;
    const what = `${name}.${key}`;
    if (!Object.hasOwn(ConnOption, key)) {
      invalidValue(what, value, `is not an option (known: ${[...others, ...Object.keys(ConnOption)].join(", ")})`);
    }
    validateSetting(value, what, CONN_OPTION_RANGES[key as keyof typeof ConnOption]);
  }
}

/**
 * Prefixed, time-ordered identifiers (`wh_…`, `evt_…`, `dlv_…`, `att_…`, `key_…`) and random
 * secrets. An id says what it is in every log line, and sorts by creation time, so "newest
 * first" is an index scan on the id.
 */

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** The alphabet of ids after their prefix (Crockford base 32, lower case), in sort order. */
export const ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

export type IdPrefix = "wh" | "evt" | "dlv" | "att" | "key" | "mail" | "ping";

/**
 * CSPRNG bytes drawn from a pool refilled 4 KB at a time: asking the system for a few bytes per
 * id costs a call and an allocation each, several per event on the hot path.
 */
const pool = new Uint8Array(4096);
let poolUsed = pool.length;

function randomByte(): number {
  if (poolUsed === pool.length) {
    crypto.getRandomValues(pool);
    poolUsed = 0;
  }
  return pool[poolUsed++] ?? 0;
}

/**
 * `count` characters drawn uniformly from `alphabet` with a CSPRNG (rejection sampling, so no
 * character is more likely than another).
 */
export function randomString(count: number, alphabet: string = ALPHANUMERIC): string {
  if (alphabet.length === 0 || alphabet.length > 256) {
    throw new RangeError("alphabet must have 1 to 256 characters");
  }
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < count) {
    const byte = randomByte();
    if (byte < limit) out += alphabet[byte % alphabet.length];
  }
  return out;
}

function encodeTime(ms: number): string {
  let value = ms;
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = ID_ALPHABET[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

/** Per prefix, the millisecond and random part of the last id made. */
const lastIds = new Map<IdPrefix, { ms: number; tail: string }>();

/**
 * `tail` moved up by a random step of 1–256 in {@link ID_ALPHABET}, or null when it would
 * overflow its length.
 */
function stepUp(tail: string): string | null {
  const digits = Array.from(tail, (character) => ID_ALPHABET.indexOf(character));
  let carry = 1 + randomByte();
  for (let i = digits.length - 1; i >= 0 && carry > 0; i--) {
    const sum = (digits[i] ?? 0) + carry;
    digits[i] = sum % 32;
    carry = Math.floor(sum / 32);
  }
  return carry > 0 ? null : digits.map((digit) => ID_ALPHABET[digit]).join("");
}

/**
 * A new id: prefix, 10 characters of millisecond time, 12 random characters. Ids of one prefix
 * made by this process in the same millisecond come out in increasing order (the random part of
 * the next one is the last one's moved up by a random step), so ordering by id keeps the order
 * in which they were made — an ordered webhook's deliveries go in that order.
 *
 * @example newId("wh") // "wh_01jd3x8k2mq4v9f7r2c8tb6n"
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  const last = lastIds.get(prefix);
  const tail = (last?.ms === now ? stepUp(last.tail) : null) ?? randomString(12, ID_ALPHABET);
  lastIds.set(prefix, { ms: now, tail });
  return `${prefix}_${encodeTime(now)}${tail}`;
}

/**
 * The lowest id `newId(prefix, ms)` can return: every id made before `ms` sorts below it, every
 * id made at or after `ms` does not, so "created before" is a range of ids. A time before the
 * epoch has no ids before it: its floor is the epoch's, below every id.
 */
export function idFloor(prefix: IdPrefix, ms: number): string {
  return `${prefix}_${encodeTime(Math.max(0, Math.floor(ms)))}`;
}

/** A webhook signing secret: `wh_` + 32 CSPRNG alphanumeric characters (seed 000). */
export function newWebhookSecret(): string {
  return `wh_${randomString(32)}`;
}

/** A plain API key: `hpk_` + 40 CSPRNG alphanumeric characters (about 238 bits). */
export function newApiKeyValue(): string {
  return `hpk_${randomString(40)}`;
}

/**
 * Decoding in two steps (shape first, meaning later): `decode` turns raw bytes into a typed,
 * schema-checked value or a dead-letter reason; nothing here throws on bad input.
 *
 * Wire format: one UTF-8 JSON object per message, at most `MAX_MESSAGE_BYTES`.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Static } from '@sinclair/typebox';
import { contracts, type ContractName, type DeadLetterReason } from './contracts.ts';

/** Larger messages are refused before parsing: a report is a few hundred bytes, a PEM chain a few KB. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false });

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `date-time` as the contracts use it (UTC, `Z`): the schema's pattern has checked the shape, so
 * only the ranges remain. A fraction of the cost of a general RFC 3339 parser, on every message.
 */
export function isUtcTimestamp(s: string): boolean {
  const year = +s.slice(0, 4);
  const month = +s.slice(5, 7);
  const day = +s.slice(8, 10);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return (
    s.length >= 20 &&
    s.charCodeAt(s.length - 1) === 90 /* Z */ &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1]!) &&
    +s.slice(11, 13) < 24 &&
    +s.slice(14, 16) < 60 &&
    +s.slice(17, 19) < 60
  );
}
ajv.addFormat('date-time', { type: 'string', validate: isUtcTimestamp });

/** Compiles any JSON Schema with the same settings as the contracts (used for the catalog and config). */
export function compileSchema<T>(schema: object): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

const validators = Object.fromEntries(
  Object.entries(contracts).map(([name, schema]) => [name, ajv.compile(schema)]),
) as { [K in ContractName]: ValidateFunction<Static<(typeof contracts)[K]>> };

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: DeadLetterReason; detail: string };

/** Turns the first ajv error into one readable sentence, e.g. `/ts must match format "date-time"`. */
export function describe(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'invalid';
  const where = e.instancePath || '(root)';
  if (e.keyword === 'required') return `${where} is missing required field "${(e.params as { missingProperty: string }).missingProperty}"`;
  // A union of literals fails with one `const` error per branch: list what would have been allowed.
  const allowed = (errors ?? [])
    .filter((x) => x.keyword === 'const' && x.instancePath === e.instancePath)
    .map((x) => JSON.stringify((x.params as { allowedValue: unknown }).allowedValue));
  if (allowed.length > 0) return `${where} must be one of ${allowed.join(', ')}`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/** Checks an already-parsed value against a contract. */
export function check<K extends ContractName>(name: K, value: unknown): Decoded<Static<(typeof contracts)[K]>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
    return { ok: false, reason: 'not_an_object', detail: `expected a JSON object, got ${got}` };
  }
  const validate = validators[name];
  if (validate(value)) return { ok: true, value };
  return { ok: false, reason: 'schema_violation', detail: `${name}: ${describe(validate.errors)}` };
}

/**
 * Parses and checks one message.
 *
 * @example
 * const r = decode('UserReport', '{"id":"1","ts":"2020-02-03T13:40:00Z","service":"teams","channel":"web"}');
 * if (r.ok) r.value.service; else console.log(r.reason, r.detail);
 */
export function decode<K extends ContractName>(name: K, raw: string | Uint8Array): Decoded<Static<(typeof contracts)[K]>> {
  if (raw.length > MAX_MESSAGE_BYTES) {
    return { ok: false, reason: 'oversized', detail: `message of ${raw.length} bytes exceeds ${MAX_MESSAGE_BYTES}` };
  }
  const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'malformed_json', detail: (err as Error).message.slice(0, 300) };
  }
  return check(name, value);
}

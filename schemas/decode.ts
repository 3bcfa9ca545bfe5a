/**
 * Decoding in two steps (shape first, meaning later): `decode` turns raw bytes into a typed,
 * schema-checked value or a dead-letter reason; nothing here throws on bad input.
 *
 * Wire format: one UTF-8 JSON object per message, at most `MAX_MESSAGE_BYTES`, nested at most
 * `MAX_JSON_DEPTH` deep. In this order, each refused with its reason (`DeadLetterReasons`):
 *
 * 1. size (`oversized`) and nesting depth (`too_deep`), both before `JSON.parse`: a 10,000-deep
 *    array parses, but every recursive step after it (validation, `JSON.stringify` into the
 *    store) would overflow the stack;
 * 2. UTF-8 on the bytes (`invalid_utf8`), so that nothing is stored with U+FFFD in place of
 *    what was sent; a `\uD800` escape of a lone surrogate is refused the same way;
 * 3. JSON (`malformed_json`), then finite numbers everywhere (`out_of_range`: `1e309` parses as
 *    Infinity, which passes `minimum: 0` and is stored as 0 or null);
 * 4. the contract (`not_an_object`, `schema_violation`; a timestamp outside its years is
 *    `out_of_range`).
 *
 * The checks before and after `JSON.parse` cost little on the hot path: the depth check counts
 * brackets with `indexOf` and scans characters only when there are more than the limit, and the
 * value is walked only when the text holds a long number, a large exponent or a surrogate escape.
 */
import { isUtf8 } from 'node:buffer';
import { _, Ajv, type ErrorObject, type KeywordCxt, type ValidateFunction } from 'ajv';
import type { Static } from '@sinclair/typebox';
import { contracts, type ContractName, type DeadLetterReason } from './contracts.ts';
import { isUtcTimestamp } from './timestamp.ts';

/** Larger messages are refused before parsing: a report is a few hundred bytes, a PEM chain a few KB. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Deeper JSON is refused before parsing; the deepest contract (an Incident's hint evidence) needs about 6. */
export const MAX_JSON_DEPTH = 64;

function configure(ajv: Ajv): Ajv {
  ajv.addFormat('date-time', { type: 'string', validate: isUtcTimestamp });
  // `formatMinimum` / `formatMaximum` on timestamps, compared to the second (the first 19
  // characters), generated inline: a function keyword costs a call per timestamp.
  for (const [keyword, fails, word] of [
    ['formatMinimum', '<', 'before'],
    ['formatMaximum', '>', 'after'],
  ] as const) {
    ajv.addKeyword({
      keyword,
      type: 'string',
      schemaType: 'string',
      code: (cxt: KeywordCxt) => {
        const bound = (cxt.schema as string).slice(0, 19);
        cxt.fail(fails === '<' ? _`${cxt.data}.slice(0, 19) < ${bound}` : _`${cxt.data}.slice(0, 19) > ${bound}`);
      },
      error: { message: (cxt) => `must not be ${word} ${String(cxt.schema)}` },
    });
  }
  return ajv;
}

// strictNumbers: NaN and Infinity are not numbers (JSON.parse makes Infinity of `1e309`).
const ajv = configure(new Ajv({ allErrors: false, strict: false, coerceTypes: false, strictNumbers: true }));
const ajvAllErrors = configure(new Ajv({ allErrors: true, strict: false, coerceTypes: false, strictNumbers: true }));

/**
 * Compiles any JSON Schema with the same settings as the contracts (used for the catalog and
 * config). `allErrors` collects every problem instead of stopping at the first.
 */
export function compileSchema<T>(schema: object, opts: { allErrors?: boolean } = {}): ValidateFunction<T> {
  return (opts.allErrors ? ajvAllErrors : ajv).compile<T>(schema);
}

const validators = Object.fromEntries(
  Object.entries(contracts).map(([name, schema]) => [name, ajv.compile(schema)]),
) as { [K in ContractName]: ValidateFunction<Static<(typeof contracts)[K]>> };

/**
 * A union of string literals (`anyOf` of `const`, as TypeBox writes it) as one `enum`: the same
 * values pass, but ajv does not build an error object for every branch it tries before the one
 * that matches (most of the allocation of a valid report). Only the hot path uses these; a
 * message that fails is checked again with the contract as written, for its exact reason.
 */
function literalsAsEnum(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(literalsAsEnum);
  if (schema === null || typeof schema !== 'object') return schema;
  const { anyOf, ...rest } = schema as Record<string, unknown>;
  const literals =
    Array.isArray(anyOf) &&
    anyOf.length > 0 &&
    anyOf.every((b) => b !== null && typeof b === 'object' && typeof (b as { const?: unknown }).const === 'string' && Object.keys(b).every((k) => k === 'const' || k === 'type'));
  const out = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, literalsAsEnum(v)]));
  if (literals) return { ...out, type: 'string', enum: (anyOf as { const: string }[]).map((b) => b.const) };
  if (anyOf !== undefined) out.anyOf = literalsAsEnum(anyOf);
  return out;
}

const fastValidators = new Map<ContractName, ValidateFunction>();
function fastValidator(name: ContractName): ValidateFunction {
  let v = fastValidators.get(name);
  if (!v) {
    // The copy drops `$id`, which the contract as written holds in the same ajv instance.
    const { $id: _id, ...schema } = literalsAsEnum(contracts[name]) as Record<string, unknown>;
    fastValidators.set(name, (v = ajv.compile(schema)));
  }
  return v;
}

export type Refusal = { ok: false; reason: DeadLetterReason; detail: string };
export type Decoded<T> = { ok: true; value: T } | Refusal;

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

/** The value at a JSON pointer such as ajv's `instancePath` (`/phases/dnsMs`). */
function at(value: unknown, pointer: string): unknown {
  let v = value;
  for (const part of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

/** Checks an already-parsed value against a contract. */
export function check<K extends ContractName>(name: K, value: unknown): Decoded<Static<(typeof contracts)[K]>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
    return { ok: false, reason: 'not_an_object', detail: `expected a JSON object, got ${got}` };
  }
  if (fastValidator(name)(value)) return { ok: true, value: value as Static<(typeof contracts)[K]> };
  const validate = validators[name];
  if (validate(value)) return { ok: true, value };
  const e = validate.errors?.[0];
  if (e?.keyword === 'formatMinimum' || e?.keyword === 'formatMaximum') {
    return { ok: false, reason: 'out_of_range', detail: `${name}: ${describe(validate.errors)} (got ${String(at(value, e.instancePath)).slice(0, 40)})` };
  }
  if (e?.keyword === 'type') {
    const v = at(value, e.instancePath);
    if (typeof v === 'number' && !Number.isFinite(v)) return { ok: false, reason: 'out_of_range', detail: `${name}: ${e.instancePath || '(root)'} is not a finite number (${v})` };
  }
  return { ok: false, reason: 'schema_violation', detail: `${name}: ${describe(validate.errors)}` };
}

/** The offset of the first byte that breaks UTF-8 (called only once `isUtf8` has said no). */
export function invalidUtf8Offset(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
    }
    // Overlong forms, surrogates and code points above U+10FFFF.
    const d = b[i + 1] ?? 0;
    if ((c === 0xe0 && d < 0xa0) || (c === 0xed && d >= 0xa0) || (c === 0xf0 && d < 0x90) || (c === 0xf4 && d >= 0x90)) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * The offset at which `text` nests deeper than `max` (objects and arrays, brackets inside strings
 * not counted), or -1. Text with at most `max` brackets in all cannot be deeper, so most messages
 * cost a few `indexOf` calls.
 */
export function depthExceeded(text: string, max = MAX_JSON_DEPTH): number {
  let brackets = 0;
  for (let i = text.indexOf('{'); i !== -1 && brackets <= max; i = text.indexOf('{', i + 1)) brackets++;
  for (let i = text.indexOf('['); i !== -1 && brackets <= max; i = text.indexOf('[', i + 1)) brackets++;
  if (brackets <= max) return -1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return i;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return -1;
}

// A number literal becomes Infinity only with an exponent of 3+ digits or 309+ digits.
const HUGE_EXPONENT = /\d[eE]\+?\d{3}/;
// `\uD800`–`\uDFFF` escapes: JSON.parse turns them into lone surrogates unless they pair up.
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The first non-finite number (with `numbers`) or lone surrogate (with `strings`) in a parsed value (depth already bounded). */
function badLeaf(v: unknown, path: string, numbers: boolean, strings: boolean): Refusal | undefined {
  if (typeof v === 'number') return !numbers || Number.isFinite(v) ? undefined : { ok: false, reason: 'out_of_range', detail: `${path || '(root)'}: a number too large for a double (${v})` };
  if (typeof v === 'string') return strings && LONE_SURROGATE.test(v) ? { ok: false, reason: 'invalid_utf8', detail: `${path || '(root)'}: an escaped lone surrogate (\\uD800–\\uDFFF) is not Unicode text` } : undefined;
  if (v === null || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = badLeaf(v[i], `${path}/${i}`, numbers, strings);
      if (bad) return bad;
    }
    return undefined;
  }
  for (const k in v) {
    if (strings && LONE_SURROGATE.test(k)) return { ok: false, reason: 'invalid_utf8', detail: `${path || '(root)'}: a key holds an escaped lone surrogate` };
    const bad = badLeaf((v as Record<string, unknown>)[k], `${path}/${k}`, numbers, strings);
    if (bad) return bad;
  }
  return undefined;
}

/**
 * The first number that is not finite or string that is not Unicode text (a lone surrogate) in
 * a parsed value, as a refusal; what `parseJson` checks after parsing, for one item of a batch
 * parsed whole (`parseJson(body, { leaves: false })`).
 */
export function leafProblem(value: unknown): Refusal | undefined {
  return badLeaf(value, '', true, true);
}

/**
 * Parses one JSON message with every check that does not need its contract (see the top of this
 * file): size, depth, UTF-8, JSON, finite numbers. With `leaves: false` the parsed value is not
 * walked for numbers and surrogates (the caller checks each part with `leafProblem`).
 *
 * @example
 * parseJson('{"a":1e309}') // { ok: false, reason: 'out_of_range', detail: '/a: a number too large for a double (Infinity)' }
 */
export function parseJson(raw: string | Uint8Array, opts: { leaves?: boolean } = {}): Decoded<unknown> {
  let text: string;
  if (typeof raw === 'string') {
    if (raw.length > MAX_MESSAGE_BYTES || (raw.length > MAX_MESSAGE_BYTES / 3 && Buffer.byteLength(raw) > MAX_MESSAGE_BYTES)) {
      return { ok: false, reason: 'oversized', detail: `message of ${Buffer.byteLength(raw)} bytes exceeds ${MAX_MESSAGE_BYTES}` };
    }
    text = raw;
  } else {
    if (raw.length > MAX_MESSAGE_BYTES) return { ok: false, reason: 'oversized', detail: `message of ${raw.length} bytes exceeds ${MAX_MESSAGE_BYTES}` };
    if (!isUtf8(raw)) return { ok: false, reason: 'invalid_utf8', detail: `not UTF-8: invalid byte sequence at byte ${invalidUtf8Offset(raw)}` };
    text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  }
  const deep = depthExceeded(text);
  if (deep !== -1) return { ok: false, reason: 'too_deep', detail: `nested deeper than ${MAX_JSON_DEPTH} levels (at character ${deep})` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'malformed_json', detail: (err as Error).message.slice(0, 300) };
  }
  if (opts.leaves === false) return { ok: true, value };
  const numbers = text.length > 308 || HUGE_EXPONENT.test(text);
  const strings = text.indexOf('\\u') !== -1 && SURROGATE_ESCAPE.test(text);
  if (numbers || strings) {
    const bad = badLeaf(value, '', numbers, strings);
    if (bad) return bad;
  }
  return { ok: true, value };
}

/**
 * Parses and checks one message.
 *
 * @example
 * const r = decode('UserReport', '{"id":"1","ts":"2020-02-03T13:40:00Z","service":"teams","channel":"web"}');
 * if (r.ok) r.value.service; else console.log(r.reason, r.detail);
 */
export function decode<K extends ContractName>(name: K, raw: string | Uint8Array): Decoded<Static<(typeof contracts)[K]>> {
  const parsed = parseJson(raw);
  return parsed.ok ? check(name, parsed.value) : parsed;
}

/**
 * Query and path parameters, declared once per route: each declaration parses and checks the raw
 * string (a bad value is a 400 naming the parameter) and carries the JSON Schema the OpenAPI
 * document publishes for it, so the document and the validation cannot drift apart.
 *
 * Wire format: `?name=value` once per name (a repeated or empty one is refused); times are ISO-8601
 * UTC with a `Z`, in the years 1970 to 2100 like every event time; cursors are opaque base64url strings.
 */
import type { Request } from 'express';
import { isUtcTimestamp } from '../../schemas/timestamp.ts';
import { HttpError } from './problem.ts';

export interface ParamSpec<T> {
  readonly in: 'query' | 'path';
  readonly description: string;
  readonly required: boolean;
  /** JSON Schema of the raw value, for the OpenAPI document. */
  readonly schema: Readonly<Record<string, unknown>>;
  /** The checked value; throws a 400 HttpError naming `name`. */
  parse(raw: string | undefined, name: string): T;
}

export type ParamSpecs = Record<string, ParamSpec<unknown>>;
export type ParsedParams<P extends ParamSpecs> = { [K in keyof P]: ReturnType<P[K]['parse']> };

/**
 * Parses every declared parameter of a request; an undeclared or repeated query parameter is a
 * 400 naming it.
 *
 * @example
 * const p = parseParams({ limit: query.int({ description: 'page size', min: 1, max: 200, default: 50 }) }, req);
 * p.limit // 50 when absent
 */
export function parseParams<P extends ParamSpecs>(specs: P, req: Request): ParsedParams<P> {
  const query = req.query as Record<string, unknown>;
  const known = Object.entries(specs).filter(([, s]) => s.in === 'query').map(([n]) => n);
  for (const [name, value] of Object.entries(query)) {
    if (!known.includes(name)) {
      throw new HttpError(400, 'unknown-parameter', `unknown query parameter "${name.slice(0, 100)}"; this endpoint takes ${known.length > 0 ? known.join(', ') : 'none'}`, name.slice(0, 100));
    }
    if (typeof value !== 'string') throw HttpError.badParam(name, 'give it once');
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const raw = spec.in === 'query' ? (query[name] as string | undefined) : (req.params as Record<string, string | undefined>)[name];
    if (raw === '') throw HttpError.badParam(name, 'is empty; leave it out for the default');
    out[name] = spec.parse(raw, name);
  }
  return out as ParsedParams<P>;
}

interface Common {
  description: string;
}

/** Earliest and latest time a parameter may name: the contracts' range of event times. */
const MIN_TIME_MS = Date.UTC(1970, 0, 1);
const MAX_TIME_MS = Date.UTC(2101, 0, 1);
/** The shape of a time, its years limited in the pattern so that the document states the range too. */
const TIME_PATTERN = '^(19[7-9][0-9]|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$';
const TIME_RE = new RegExp(TIME_PATTERN);

function int(o: Common & { min: number; max: number; default: number; multipleOf?: number }): ParamSpec<number>;
function int(o: Common & { min: number; max: number; multipleOf?: number }): ParamSpec<number | undefined>;
function int(o: Common & { min: number; max: number; default?: number; multipleOf?: number }): ParamSpec<number | undefined> {
  return {
    in: 'query',
    description: o.description,
    required: false,
    schema: { type: 'integer', minimum: o.min, maximum: o.max, ...(o.multipleOf ? { multipleOf: o.multipleOf } : {}), ...(o.default !== undefined ? { default: o.default } : {}) },
    parse(raw, name) {
      if (raw === undefined) return o.default;
      const n = /^-?\d{1,15}$/.test(raw) ? Number(raw) : NaN;
      const range = `an integer from ${o.min} to ${o.max}${o.multipleOf ? `, a multiple of ${o.multipleOf}` : ''}`;
      if (!Number.isSafeInteger(n) || n < o.min || n > o.max || (o.multipleOf && n % o.multipleOf !== 0)) throw HttpError.badParam(name, `must be ${range}, got "${raw.slice(0, 40)}"`);
      return n;
    },
  };
}

function number(o: Common & { min: number; max: number }): ParamSpec<number | undefined> {
  return {
    in: 'query',
    description: o.description,
    required: false,
    schema: { type: 'number', minimum: o.min, maximum: o.max },
    parse(raw, name) {
      if (raw === undefined) return undefined;
      const n = /^-?\d{1,15}(\.\d{1,15})?$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isFinite(n) || n < o.min || n > o.max) throw HttpError.badParam(name, `must be a number from ${o.min} to ${o.max}, got "${raw.slice(0, 40)}"`);
      return n;
    },
  };
}

function oneOf<const V extends string>(values: readonly V[], o: Common): ParamSpec<V | undefined> {
  return {
    in: 'query',
    description: o.description,
    required: false,
    schema: { type: 'string', enum: [...values] },
    parse(raw, name) {
      if (raw === undefined) return undefined;
      if (!(values as readonly string[]).includes(raw)) throw HttpError.badParam(name, `must be one of ${values.join(', ')}, got "${raw.slice(0, 40)}"`);
      return raw as V;
    },
  };
}

/** A time as epoch milliseconds. */
function time(o: Common): ParamSpec<number | undefined> {
  return {
    in: 'query',
    description: o.description,
    required: false,
    schema: { type: 'string', format: 'date-time', pattern: TIME_PATTERN },
    parse(raw, name) {
      if (raw === undefined) return undefined;
      const ms = TIME_RE.test(raw) && isUtcTimestamp(raw) ? Date.parse(raw) : NaN;
      if (!Number.isFinite(ms) || ms < MIN_TIME_MS || ms >= MAX_TIME_MS) {
        throw HttpError.badParam(name, `must be an ISO-8601 UTC time in the years 1970 to 2100, such as 2020-02-03T13:40:00Z, got "${raw.slice(0, 40)}"`);
      }
      return ms;
    },
  };
}

const SERVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const serviceSchema = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' };

function serviceId(o: Common): ParamSpec<string | undefined> {
  return {
    in: 'query',
    description: o.description,
    required: false,
    schema: serviceSchema,
    parse(raw, name) {
      if (raw === undefined) return undefined;
      if (!SERVICE_ID.test(raw)) throw HttpError.badParam(name, 'must be a service id (letters, digits, ".", "_", "-"; at most 128)');
      return raw;
    },
  };
}

const OUTAGE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/;

/** An incident or outage id (service id, a dash, the onset; or `cert-…`). */
function outageId(o: Common): ParamSpec<string | undefined> {
  return {
    in: 'query',
    description: o.description,
    required: false,
    schema: { type: 'string', pattern: OUTAGE_ID.source, maxLength: 256 },
    parse(raw, name) {
      if (raw === undefined) return undefined;
      if (!OUTAGE_ID.test(raw)) throw HttpError.badParam(name, 'must be an outage id (letters, digits, ".", "_", "-"; at most 256)');
      return raw;
    },
  };
}

/** A position in a list: the sort key of the last item of the previous page (epoch ms and a tie-breaking id). */
export type Cursor = { ms: number; id: string };

/**
 * An opaque cursor: base64url of `[ms, id]`.
 *
 * @example encodeCursor({ ms: 1580737200000, id: 'teams-20200203T1340Z' }) // 'WzE1ODA3MzcyMDAwMDAsInRlYW1zLTIwMjAwMjAzVDEzNDBaIl0'
 */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.ms, c.id])).toString('base64url');
}

function cursor(o: Common): ParamSpec<Cursor | undefined> {
  return {
    in: 'query',
    description: o.description,
    required: false,
    schema: { type: 'string', maxLength: 1024, pattern: '^[A-Za-z0-9_-]+$' },
    parse(raw, name) {
      if (raw === undefined) return undefined;
      let value: unknown;
      try {
        if (raw.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(raw)) throw new Error('not base64url');
        value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
      } catch {
        value = undefined;
      }
      if (!Array.isArray(value) || value.length !== 2 || !Number.isSafeInteger(value[0]) || typeof value[1] !== 'string' || value[1].length > 512) {
        throw HttpError.badParam(name, 'is not a cursor this API gave out; pass nextCursor back unchanged');
      }
      return { ms: value[0] as number, id: value[1] };
    },
  };
}

function text(o: Common & { maxLength: number }): ParamSpec<string | undefined> {
  return {
    in: 'query',
    description: o.description,
    required: false,
    schema: { type: 'string', maxLength: o.maxLength },
    parse(raw, name) {
      if (raw !== undefined && raw.length > o.maxLength) throw HttpError.badParam(name, `is longer than ${o.maxLength} characters`);
      return raw;
    },
  };
}

/** Query parameter builders. */
export const query = { int, number, oneOf, time, serviceId, outageId, cursor, text };

/** Path parameter builders (always required). */
export const path = {
  id(o: Common & { maxLength: number }): ParamSpec<string> {
    return {
      in: 'path',
      description: o.description,
      required: true,
      schema: { type: 'string', minLength: 1, maxLength: o.maxLength },
      parse(raw, name) {
        if (raw === undefined || raw.length > o.maxLength) throw HttpError.badParam(name, `must be 1 to ${o.maxLength} characters`);
        return raw;
      },
    };
  },
  serviceId(o: Common): ParamSpec<string> {
    return {
      in: 'path',
      description: o.description,
      required: true,
      schema: serviceSchema,
      parse(raw, name) {
        if (raw === undefined || !SERVICE_ID.test(raw)) throw HttpError.badParam(name, 'must be a service id (letters, digits, ".", "_", "-"; at most 128)');
        return raw;
      },
    };
  },
};

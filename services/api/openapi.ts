/**
 * The OpenAPI 3.1 document, generated: paths and parameters from the route table, schemas from
 * the TypeBox contracts (`schemas/api.ts` and `schemas/contracts.ts`). OpenAPI 3.1 schemas are
 * JSON Schema 2020-12, so the contracts go in as they are, except that a nested schema with an
 * `$id` of a component becomes a `$ref` to it and the components lose their `$id`s (a `$ref` by
 * bare `$id` would not resolve inside the document).
 *
 * https://spec.openapis.org/oas/v3.1.0
 */
import type { TSchema } from '@sinclair/typebox';
import { apiSchemas } from '../../schemas/api.ts';
import { Hint, contracts } from '../../schemas/contracts.ts';
import type { Route } from './routes.ts';

export interface OpenApiOptions {
  anonymousRead: boolean;
  version?: string;
}

/** Every named schema of the document; `Hint` has no `$id`, so it is matched by identity. */
const named: Record<string, TSchema> = { ...contracts, Hint, ...apiSchemas };

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A plain JSON copy of a TypeBox schema with named sub-schemas replaced by `$ref`s. */
function convert(schema: unknown, top: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((s) => convert(s, false));
  if (schema === null || typeof schema !== 'object') return schema;
  const s = schema as Record<string, unknown>;
  if (!top) {
    const id = typeof s.$id === 'string' && s.$id in named ? s.$id : Object.keys(named).find((k) => named[k] === schema);
    if (id) return ref(id);
  }
  const out: Record<string, unknown> = {};
  // Object.entries skips TypeBox's symbol keys ([Kind], [OptionalKind]), which are not JSON Schema.
  for (const [k, v] of Object.entries(s)) {
    if (k === '$id') continue;
    // Inside `properties` the keys are property names, not keywords.
    out[k] = k === 'properties' && v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, convert(pv, false)])) : convert(v, false);
  }
  return out;
}

export interface OpenApiDocument {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, unknown>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  [key: string]: unknown;
}

const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });

/**
 * The document for a route table.
 *
 * @example
 * const doc = openApiDocument(apiRoutes(deps), { anonymousRead: true });
 * Object.keys(doc.paths) // ['/api/v1/incidents', '/api/v1/incidents/{id}', …]
 */
export function openApiDocument(routes: readonly Route[], o: OpenApiOptions): OpenApiDocument {
  const readSecurity = o.anonymousRead ? [{}, { bearer: [] }] : [{ bearer: [] }];
  const paths: Record<string, unknown> = {};
  for (const r of routes) {
    const responses: Record<string, unknown> = {};
    const ok = r.response;
    responses['200'] =
      ok.kind === 'json'
        ? { description: ok.description, content: { 'application/json': { schema: ok.schema === 'OpenApi' ? { type: 'object' } : ref(ok.schema) } } }
        : { description: ok.description, content: { [ok.contentType]: { schema: { type: 'string' } } } };
    if (r.path.startsWith('/api/')) {
      responses['400'] = problemResponse('A bad or unknown parameter (named in `param`)');
      if (r.auth === 'read') responses['401'] = problemResponse('A read token is required, or the one given is not valid');
      responses['429'] = problemResponse('Too many requests from this client');
    }
    for (const status of r.problems ?? []) {
      responses[String(status)] =
        status === 404 ? problemResponse('No such resource') : { description: 'Not ready', content: { 'text/plain': { schema: { type: 'string' } } } };
    }
    if (r.path.startsWith('/api/')) responses['500'] = problemResponse('An unexpected failure (logged; no details are given)');
    paths[r.path] = {
      get: {
        operationId: r.operationId,
        summary: r.summary,
        ...(r.description ? { description: r.description } : {}),
        tags: [r.tag],
        security: r.auth === 'read' ? readSecurity : [],
        parameters: Object.entries(r.params).map(([name, p]) => ({ name, in: p.in, required: p.required, description: p.description, schema: p.schema })),
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'outage-pipeline query API',
      version: o.version ?? '1.0.0',
      description:
        'Incidents with ranked root-cause hints, services and their state, report series with seasonal baselines, the certificate inventory, early warnings, probes and dead letters. ' +
        'Times are ISO-8601 UTC; "now" is event time: the latest minute of data. Errors are RFC 9457 problem documents naming the bad parameter.',
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(named).map(([name, s]) => [name, convert(s, true)])),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: o.anonymousRead ? 'Optional: reading is open to everyone' : 'A read token (API_READ_TOKENS)' } },
    },
  };
}

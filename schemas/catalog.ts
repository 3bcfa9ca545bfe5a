/**
 * The service catalog (`catalog.yaml`, DESIGN.md §4): the services, what they depend on, and how
 * signals map to them. Unknown keys are refused so a typo does not silently drop a binding.
 */
import { Type, type Static } from '@sinclair/typebox';

const strict = { additionalProperties: false } as const;

/** Days before expiry at which to warn, e.g. [30, 14, 7, 1]. */
const WarnDays = Type.Array(Type.Number({ minimum: 0 }), { minItems: 1 });

export const CatalogCertificate = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
    warnDays: Type.Optional(WarnDays),
  },
  strict,
);

/** `http://` and `https://` (a request), `tls://` (a handshake), `tcp://` (a connect), `dns://` (a lookup). */
const EndpointUrl = Type.String({ pattern: '^(https?|tls|tcp|dns)://' });

/** An endpoint with per-endpoint probe settings; a plain URL string takes the defaults. */
export const CatalogEndpoint = Type.Object(
  {
    url: EndpointUrl,
    intervalS: Type.Optional(Type.Integer({ minimum: 5 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100 })),
    expectStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
    bodyMatch: Type.Optional(Type.String({ minLength: 1 })),
    servername: Type.Optional(Type.String({ minLength: 1 })),
    ip: Type.Optional(Type.String({ minLength: 1 })),
  },
  strict,
);
export type CatalogEndpoint = Static<typeof CatalogEndpoint>;

export const CatalogService = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 128 }),
    name: Type.String({ minLength: 1 }),
    endpoints: Type.Optional(Type.Array(Type.Union([EndpointUrl, CatalogEndpoint]))),
    hosts: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    keywords: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    statusAccounts: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    dependsOn: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    certificates: Type.Optional(Type.Array(CatalogCertificate)),
    /** Expiry warning horizons for this service's certificates (overrides the defaults). */
    certWarnDays: Type.Optional(WarnDays),
  },
  strict,
);
export type CatalogService = Static<typeof CatalogService>;

export const Catalog = Type.Object({ services: Type.Array(CatalogService, { minItems: 1 }) }, { ...strict, $id: 'Catalog' });
export type Catalog = Static<typeof Catalog>;

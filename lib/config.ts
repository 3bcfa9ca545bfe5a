/**
 * Configuration from the environment, validated once at start with clear messages. This is the
 * only module that reads `process.env`; `main.ts` files and the CLI pass the result on.
 */
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { compileSchema, describe } from '../schemas/decode.ts';
import type { StoreConfig } from './store/store.ts';

export const Env = Type.Object({
  CLICKHOUSE_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'ClickHouse server; unset = embedded chDB' })),
  CLICKHOUSE_CLUSTER: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', description: 'ClickHouse cluster the tables are created on (replicated and distributed DDL, ON CLUSTER); unset = one server' })),
  OUTAGE_DATA_DIR: Type.String({ default: './data/chdb', minLength: 1, description: 'chDB data directory (embedded store)' }),
  KAFKA_BROKERS: Type.Optional(Type.String({ pattern: '^[^,\\s]+(,[^,\\s]+)*$', description: 'comma-separated host:port list; unset = in-process bus' })),
  KAFKA_CLIENT_ID: Type.String({ default: 'outage' }),
  KAFKA_TOPIC_PREFIX: Type.String({ default: '', pattern: '^[A-Za-z0-9._-]*$', description: 'prepended to every topic and consumer group name' }),
  KAFKA_REPLICATION_FACTOR: Type.Integer({ default: 1, minimum: 1, maximum: 32, description: 'replication factor of the topics a service creates when they do not exist' }),
  KAFKA_SSL: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'false', description: 'connect to the brokers over TLS' }),
  KAFKA_SSL_CA_FILE: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CA(s) that sign the brokers\' certificates (default: the system roots)' })),
  KAFKA_SASL_MECHANISM: Type.Optional(Type.Union((['plain', 'scram-sha-256', 'scram-sha-512'] as const).map((m) => Type.Literal(m)), { description: 'SASL mechanism; unset = no SASL' })),
  KAFKA_SASL_USERNAME: Type.Optional(Type.String({ minLength: 1, description: 'SASL user name' })),
  KAFKA_SASL_PASSWORD: Type.Optional(Type.String({ minLength: 1, description: 'SASL password' })),
  CATALOG: Type.String({ default: './catalog.yaml', minLength: 1, description: 'path of catalog.yaml' }),
  LOG_LEVEL: Type.Union(
    (['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const).map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  CERT_DIRS: Type.Optional(Type.String({ minLength: 1, description: 'comma-separated directories the certificate inventory scans' })),
  CERT_URLS: Type.Optional(Type.String({ minLength: 1, description: 'comma-separated URLs of PEM bundles or JWKS documents to scan' })),
  CERT_P12_PASSWORDS: Type.Optional(Type.String({ minLength: 1, description: 'PKCS#12 passwords as file=password pairs, comma-separated; *=password for any' })),
  CERT_SCAN_INTERVAL_S: Type.Integer({ default: 300, minimum: 5, description: 'seconds between inventory scans' }),
  PROBE_REGION: Type.String({ default: 'local', minLength: 1, maxLength: 64, description: 'region label of this prober' }),
  PROBE_INTERVAL_S: Type.Integer({ default: 60, minimum: 5, description: 'seconds between checks of an endpoint (per-endpoint intervalS overrides)' }),
  PROBE_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, description: 'timeout of one check' }),
  PROBE_CA_FILE: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of extra trusted roots (internal CAs)' })),
  REPORT_API_PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'port of the report API' }),
  REPORT_API_TOKENS: Type.Optional(Type.String({ minLength: 1, description: 'comma-separated bearer tokens of API clients' })),
  REPORT_ANONYMOUS: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'false', description: 'accept web/app reports without a token' }),
  REPORT_SALT: Type.Optional(Type.String({ minLength: 16, description: 'secret salt of reporter hashes (stable across restarts)' })),
  REPORT_MAX_BODY_BYTES: Type.Integer({ default: 262_144, minimum: 1024, description: 'largest request body' }),
  X_BEARER_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'X API v2 bearer token (social ingest)' })),
  X_API_PREFIX: Type.Optional(Type.String({ pattern: '^https?://', description: 'X API v2 base URL, e.g. a proxy (default https://api.x.com/2/)' })),
  X_RULE_TAG_PREFIX: Type.String({ default: 'outage:', minLength: 1, description: 'tag prefix that marks our filtered-stream rules' }),
  X_LEAVE_OTHER_RULES: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'true', description: "keep stream rules that are not ours" }),
  X_CURSOR_FILE: Type.String({ default: './data/social-ingest.cursor.json', description: 'where the last handled post id is kept (backfill after a restart)' }),
  GRAFANA_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'Grafana base URL for annotations' })),
  GRAFANA_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'Grafana service account token' })),
  GRAFANA_DASHBOARD_UID: Type.Optional(Type.String({ minLength: 1, description: 'dashboard the annotations belong to (default: organisation-wide)' })),
  API_PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'port of `outage serve` (status page, query API, report API, /metrics) and of the standalone query API' }),
  API_HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'address `outage serve` and the query API listen on (0.0.0.0 for every interface)' }),
  API_READ_TOKENS: Type.Optional(Type.String({ minLength: 1, description: 'comma-separated bearer tokens allowed to read the query API (separate from REPORT_API_TOKENS)' })),
  API_ANONYMOUS_READ: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'true', description: 'let anyone read the query API and the status page without a token' }),
  API_RATE_PER_MIN: Type.Integer({ default: 1200, minimum: 1, description: 'query API requests per minute per client' }),
  NOTIFY_WEBHOOK_URLS: Type.Optional(Type.String({ minLength: 1, description: 'comma-separated URLs that receive signed JSON notifications' })),
  NOTIFY_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16, description: 'HMAC-SHA256 secret of the webhook signatures' })),
  NOTIFY_SLACK_WEBHOOK_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'Slack incoming-webhook URL' })),
  NOTIFY_PAGERDUTY_ROUTING_KEY: Type.Optional(Type.String({ minLength: 1, description: 'PagerDuty Events API v2 routing (integration) key' })),
  NOTIFY_PAGERDUTY_URL: Type.String({ default: 'https://events.pagerduty.com/v2/enqueue', pattern: '^https?://', description: 'PagerDuty Events API v2 endpoint' }),
  NOTIFY_MIN_CONFIDENCE: Type.Number({ default: 0, minimum: 0, maximum: 1, description: 'notify only incidents whose first hint has at least this confidence (0: every incident)' }),
  PORT: Type.Integer({ default: 9464, minimum: 0, maximum: 65535, description: 'HTTP port for /metrics, /healthz, /readyz' }),
});
export type Env = Static<typeof Env>;

const validate = compileSchema<Env>(Env);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and checks the environment; throws `ConfigError` naming the variable. */
export function loadEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const raw: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(Env.properties)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = schema.type === 'integer' ? (/^\d+$/.test(v) ? Number(v) : v) : schema.type === 'number' ? (/^\d+(\.\d+)?$/.test(v) ? Number(v) : v) : v;
    else if ('default' in schema) raw[key] = schema.default;
  }
  if (!validate(raw)) {
    const e = validate.errors![0]!;
    const name = e.instancePath.slice(1) || String((e.params as { missingProperty?: string }).missingProperty ?? '');
    throw new ConfigError(`environment variable ${name}=${JSON.stringify(raw[name])}: ${describe([{ ...e, instancePath: '' }]).replace('(root) ', '')}`);
  }
  return raw as Env;
}

export function storeConfig(env: Env): StoreConfig {
  if (env.CLICKHOUSE_CLUSTER && !env.CLICKHOUSE_URL) throw new ConfigError('CLICKHOUSE_CLUSTER is set without CLICKHOUSE_URL: a cluster is a ClickHouse server setting (chDB is one process)');
  if (!env.CLICKHOUSE_URL) return { kind: 'chdb', dataDir: env.OUTAGE_DATA_DIR };
  return { kind: 'server', url: env.CLICKHOUSE_URL, ...(env.CLICKHOUSE_CLUSTER ? { cluster: env.CLICKHOUSE_CLUSTER } : {}) };
}

type SaslMechanism = NonNullable<Env['KAFKA_SASL_MECHANISM']>;
export type KafkaSasl = { [M in SaslMechanism]: { mechanism: M; username: string; password: string } }[SaslMechanism];

/** TLS and SASL settings of the Kafka client (kafkajs's `ssl` and `sasl`), from KAFKA_SSL* and KAFKA_SASL_*. */
export function kafkaSecurity(env: Env): { ssl?: true | { ca: string[] }; sasl?: KafkaSasl } {
  const out: { ssl?: true | { ca: string[] }; sasl?: KafkaSasl } = {};
  if (env.KAFKA_SSL_CA_FILE && env.KAFKA_SSL !== 'true') throw new ConfigError('KAFKA_SSL_CA_FILE is set but KAFKA_SSL is not true');
  if (env.KAFKA_SSL === 'true') {
    if (!env.KAFKA_SSL_CA_FILE) out.ssl = true;
    else {
      let ca: string;
      try {
        ca = readFileSync(env.KAFKA_SSL_CA_FILE, 'utf8');
      } catch (err) {
        throw new ConfigError(`KAFKA_SSL_CA_FILE=${env.KAFKA_SSL_CA_FILE}: ${(err as Error).message}`);
      }
      out.ssl = { ca: [ca] };
    }
  }
  if (env.KAFKA_SASL_MECHANISM) {
    if (!env.KAFKA_SASL_USERNAME || !env.KAFKA_SASL_PASSWORD) throw new ConfigError(`KAFKA_SASL_MECHANISM=${env.KAFKA_SASL_MECHANISM} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`);
    out.sasl = { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME, password: env.KAFKA_SASL_PASSWORD };
  } else if (env.KAFKA_SASL_USERNAME || env.KAFKA_SASL_PASSWORD) {
    throw new ConfigError('KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set without KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512)');
  }
  return out;
}

/** `a.p12=secret,*=changeit` → `{ 'a.p12': 'secret', '*': 'changeit' }`. */
export function p12Passwords(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of env.CERT_P12_PASSWORDS?.split(',') ?? []) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new ConfigError('CERT_P12_PASSWORDS: each entry is file=password (or *=password)');
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

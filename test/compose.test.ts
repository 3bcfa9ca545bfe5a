/**
 * docker-compose.yml is for users (no Docker engine runs here): Debian's docker-compose checks
 * its schema and expands the variables without an engine. test/run.sh installs it; with CI=true a
 * missing tool fails. The rest is checked on the file as docker-compose expands it with the
 * values of .env.example: every container has a healthcheck and waits for the healthy state of
 * what it needs, the optional services are under profiles, every bind source is in the repo, the
 * entry points exist (as sources of the compiled files the image runs), and every service's
 * environment passes lib/config.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { kafkaSecurity, loadEnv, storeConfig } from '../lib/config.ts';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string | number | null>;
  volumes?: (string | { type: string; source: string; target: string })[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition: string }> | string[];
  profiles?: string[];
  ports?: string[];
}

const OURS = ['sink', 'correlator', 'api', 'report-ingest', 'prober', 'cert-inventory', 'cert-warnings', 'social-ingest', 'annotator', 'notifier'];
const OPTIONAL: Record<string, string> = { 'social-ingest': 'social', annotator: 'annotator', notifier: 'notify' };

function composeCli(): string | undefined {
  for (const p of ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose']) if (existsSync(p)) return p;
  return undefined;
}

/** `KEY=value` lines of .env.example. */
function envExample(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync('.env.example', 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** docker-compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}, $$ for a literal $. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (whole === '$$') return '$';
    const v = vars[name!];
    if (op === ':-' || op === '-') return v ? v : (arg ?? '');
    if (op === ':?' || op === '?') {
      if (!v) throw new Error(`${name} is required: ${arg}`);
      return v;
    }
    return v ?? '';
  });
}

/** The file as docker-compose expands it (merge keys and anchors resolved by the yaml parser). */
function expanded(): { services: Record<string, ComposeService>; volumes?: Record<string, unknown> } {
  return parse(interpolate(readFileSync('docker-compose.yml', 'utf8'), envExample()), { merge: true }) as { services: Record<string, ComposeService> };
}

describe('docker-compose.yml', () => {
  const { services } = expanded();

  it('is valid for docker-compose with the values of .env.example', (t) => {
    const cli = composeCli();
    if (!cli) {
      assert.ok(process.env.CI !== 'true', 'docker-compose is not installed (test/run.sh installs it with apt-get)');
      t.diagnostic('docker-compose not installed: schema check not run (it runs in CI)');
      return;
    }
    execFileSync(cli, ['--env-file', '.env.example', '-f', 'docker-compose.yml', 'config', '-q'], { stdio: 'pipe' });
    // Every optional profile too.
    execFileSync(cli, ['--env-file', '.env.example', '-f', 'docker-compose.yml', '--profile', 'social', '--profile', 'annotator', '--profile', 'notify', 'config', '-q'], { stdio: 'pipe' });
  });

  it('runs every service of the pipeline, each from an entry point that exists', () => {
    for (const s of ['kafka', 'clickhouse', 'grafana', ...OURS]) assert.ok(services[s], `no ${s} service`);
    for (const s of OURS) {
      const svc = services[s]!;
      assert.equal(svc.image, 'outage-pipeline:local', s);
      assert.deepEqual(svc.build, { context: '.', target: 'server' }, `${s}: the image without chDB`);
      const command = Array.isArray(svc.command) ? svc.command.join(' ') : (svc.command ?? '');
      const entry = /dist\/(\S+)\.js/.exec(command);
      assert.ok(entry, `${s}: runs ${command}`);
      assert.ok(existsSync(`${entry[1]}.ts`), `${s} runs ${entry[0]}, compiled from ${entry[1]}.ts, which does not exist`);
    }
  });

  it('has a healthcheck on every container, and waits for the healthy state of what it needs', () => {
    for (const [name, svc] of Object.entries(services)) {
      assert.ok(svc.healthcheck?.test && !svc.healthcheck.disable, `${name} has no healthcheck`);
      const deps = svc.depends_on ?? {};
      assert.ok(!Array.isArray(deps), `${name}: depends_on without conditions only waits for "started"`);
      for (const [dep, { condition }] of Object.entries(deps)) {
        assert.ok(services[dep], `${name} depends on ${dep}, which is not a service`);
        assert.equal(condition, 'service_healthy', `${name} → ${dep}`);
      }
    }
    const test = (s: string) => [services[s]!.healthcheck!.test].flat().join(' ');
    for (const s of OURS.filter((s) => s !== 'cert-warnings')) assert.match(test(s), /\/readyz/, s);
    assert.match(test('kafka'), /kafka-broker-api-versions/);
    assert.match(test('clickhouse'), /8123\/ping/);
    assert.match(test('grafana'), /\/api\/health/);
    for (const s of OURS) assert.ok(Object.keys(services[s]!.depends_on ?? {}).includes('kafka') || s === 'cert-warnings', `${s} waits for Kafka`);
    for (const s of ['sink', 'api', 'cert-warnings']) assert.ok(Object.keys(services[s]!.depends_on ?? {}).includes('clickhouse'), `${s} waits for ClickHouse`);
  });

  it('puts the services that need a token under profiles, and nothing else', () => {
    for (const [name, svc] of Object.entries(services)) {
      if (OPTIONAL[name]) assert.deepEqual(svc.profiles, [OPTIONAL[name]], name);
      else assert.equal(svc.profiles, undefined, `${name} is not optional`);
    }
  });

  it('mounts only files and folders of the repo, and the catalog and certificates the services read', () => {
    const named = new Set(Object.keys(expanded().volumes ?? {}));
    for (const [name, svc] of Object.entries(services)) {
      for (const v of svc.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0]! : v.source;
        if (named.has(source)) continue;
        assert.ok(source.startsWith('./'), `${name}: bind source ${source} is not in the repo`);
        assert.ok(existsSync(source), `${name}: bind source ${source} does not exist (docker would create an empty directory)`);
      }
    }
    for (const s of OURS) {
      const targets = (services[s]!.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1]! : v.target));
      const env = services[s]!.environment ?? {};
      assert.ok(targets.includes(String(env.CATALOG)), `${s}: CATALOG=${env.CATALOG} is not mounted`);
      if (env.CERT_DIRS) for (const d of String(env.CERT_DIRS).split(',')) assert.ok(targets.includes(d), `${s}: CERT_DIRS ${d} is not mounted`);
    }
  });

  it("validates every service's environment with lib/config.ts", () => {
    for (const s of OURS) {
      const env = Object.fromEntries(Object.entries(services[s]!.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));
      const parsed = loadEnv(env);
      assert.equal(parsed.KAFKA_BROKERS, 'kafka:9092', s);
      const store = storeConfig(parsed);
      assert.equal(store.kind, 'server', `${s} uses the ClickHouse server`);
      const url = new URL(store.kind === 'server' ? store.url : '');
      assert.equal(url.host, 'clickhouse:8123');
      assert.equal(url.username, envExample().CLICKHOUSE_USER, `${s}: CLICKHOUSE_URL carries the user`);
      assert.equal(decodeURIComponent(url.password), envExample().CLICKHOUSE_PASSWORD, `${s}: CLICKHOUSE_URL carries the password`);
      assert.deepEqual(kafkaSecurity(parsed), {}, s);
    }
    assert.equal(loadEnv(services.api!.environment as NodeJS.ProcessEnv).API_HOST, '0.0.0.0', 'the API listens beyond the container');
    assert.ok(services.api!.ports!.includes('8080:8080'), 'the status page on 8080');
  });

  it('lets the host reach Kafka (outage publish) and keeps credentials out of the file', () => {
    const kafka = services.kafka!;
    assert.match(String(kafka.environment!.KAFKA_ADVERTISED_LISTENERS), /EXTERNAL:\/\/localhost:29092/);
    assert.ok(kafka.ports!.includes('29092:29092'));
    const raw = readFileSync('docker-compose.yml', 'utf8');
    for (const [k, v] of Object.entries(envExample())) if (/PASSWORD|TOKEN|SALT|SECRET/.test(k) && v) assert.ok(!raw.includes(v), `${k}'s value is written in docker-compose.yml`);
    assert.match(raw, /CLICKHOUSE_PASSWORD: \$\{CLICKHOUSE_PASSWORD:\?/);
    // Pinned versions: no floating tag, the Grafana plugin with its version.
    for (const [name, svc] of Object.entries(services)) if (!OURS.includes(name)) assert.match(svc.image ?? '', /:\d+\.\d+\.\d+(\.\d+)?$/, `${name}: ${svc.image}`);
    assert.match(String(services.grafana!.environment!.GF_PLUGINS_PREINSTALL_SYNC), /^grafana-clickhouse-datasource@\d+\.\d+\.\d+$/);
  });
});

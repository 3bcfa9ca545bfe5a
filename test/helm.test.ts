/**
 * The Helm chart (deploy/helm/outage): `helm lint` and `helm template` pass with the default
 * values and with every option on, and the rendered manifests run what they should: the image,
 * each service's entry point, probes on /healthz and /readyz, resources and replicas from the
 * values, the ClickHouse URL and the SASL credentials from Secrets, the catalog from a ConfigMap,
 * certificates from a Secret, the ServiceMonitor and the lag autoscaler when enabled. Every
 * container's environment passes lib/config.ts (with the Secret references filled in).
 * Helm is built by test/run.sh (`go install`, cached in .cache/bin: $HELM); with CI=true a missing
 * helm fails.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { loadCatalog } from '../lib/catalog.ts';
import { Env, loadEnv } from '../lib/config.ts';

const CHART = 'deploy/helm/outage';
const helm = process.env.HELM ?? (existsSync('.cache/bin/helm') ? '.cache/bin/helm' : undefined);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}
interface Container {
  name: string;
  image: string;
  args: string[];
  env: EnvVar[];
  envFrom?: { secretRef: { name: string } }[];
  resources: unknown;
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
  securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
  securityContext: { runAsNonRoot?: boolean };
}
interface Manifest {
  kind: string;
  apiVersion: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown> & { replicas?: number; template?: { spec: PodSpec } };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

const ALL_ON = {
  image: { repository: 'registry.example.com/outage', tag: '1.2.3' },
  kafka: {
    brokers: 'b-1.kafka.example.com:9096,b-2.kafka.example.com:9096',
    topicPrefix: 'prod.',
    replicationFactor: 3,
    tls: { enabled: true, caSecret: { name: 'kafka-ca', key: 'ca.pem' } },
    sasl: { mechanism: 'scram-sha-512', existingSecret: 'kafka-credentials', usernameKey: 'user', passwordKey: 'pass' },
  },
  clickhouse: { existingSecret: 'clickhouse-credentials', urlKey: 'CLICKHOUSE_URL', cluster: 'outage_cluster' },
  catalog: { existingConfigMap: 'outage-catalog' },
  certificates: { existingSecret: 'service-certificates', urls: ['https://login.example.com/keys'] },
  services: {
    sink: { replicas: 3, resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } }, autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6, lagPerReplica: 10000 } },
    correlator: { replicas: 4 },
    certInventory: { enabled: true },
    socialIngest: { enabled: true, existingSecret: 'x-token' },
    annotator: { enabled: true, env: { GRAFANA_URL: 'https://grafana.example.com' }, secretEnv: { GRAFANA_TOKEN: 'glsa_x' } },
    notifier: { enabled: true, secretEnv: { NOTIFY_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X' } },
    reportIngest: { secretEnv: { REPORT_API_TOKENS: 'a,b', REPORT_SALT: 'a-salt-of-32-characters-or-more!' } },
  },
  serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
};

describe('Helm chart', { skip: !helm && process.env.CI !== 'true' ? 'helm is not installed (test/run.sh builds it; CI=true fails instead)' : false }, () => {
  assert.ok(helm, 'helm is not installed (test/run.sh builds it with go install)');
  const tmp = mkdtempSync(join(tmpdir(), 'helm-test-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const valuesFile = join(tmp, 'all-on.yaml');
  writeFileSync(valuesFile, stringify(ALL_ON));

  const render = (...args: string[]): Manifest[] =>
    parseAllDocuments(execFileSync(helm!, ['template', 'outage', CHART, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))
      .map((d) => d.toJSON() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
  const byKind = (ms: Manifest[], kind: string) => ms.filter((m) => m.kind === kind);
  const deployment = (ms: Manifest[], component: string) => {
    const d = byKind(ms, 'Deployment').find((m) => m.metadata.labels?.['app.kubernetes.io/component'] === component);
    assert.ok(d, `no Deployment of ${component}`);
    return d;
  };

  it('passes helm lint, with the default values and with every option on', () => {
    execFileSync(helm!, ['lint', '--strict', CHART], { encoding: 'utf8' });
    execFileSync(helm!, ['lint', '--strict', CHART, '-f', valuesFile], { encoding: 'utf8' });
  });

  it('renders the default services with the image, entry points, probes, resources and replicas of the values', () => {
    const ms = render();
    const values = parseAllDocuments(readFileSync(`${CHART}/values.yaml`, 'utf8'))[0]!.toJSON() as { services: Record<string, { enabled: boolean; replicas: number; resources: unknown }> };
    const expected = { sink: 'sink', correlator: 'correlator', api: 'api', reportIngest: 'report-ingest', prober: 'prober' };
    assert.deepEqual(byKind(ms, 'Deployment').map((d) => d.metadata.labels!['app.kubernetes.io/component']).sort(), Object.values(expected).sort(), 'the optional services are off by default');
    for (const [key, component] of Object.entries(expected)) {
      const d = deployment(ms, component);
      assert.equal(d.spec!.replicas, values.services[key]!.replicas, component);
      const pod = d.spec!.template!.spec;
      const c = pod.containers[0]!;
      assert.equal(c.image, 'outage-pipeline:0.1.0', 'the chart appVersion by default');
      assert.deepEqual(c.args, [`dist/services/${component}/main.js`]);
      assert.ok(existsSync(`services/${component}/main.ts`), `${component} is a service`);
      assert.deepEqual(c.livenessProbe!.httpGet, { path: '/healthz', port: 'metrics' });
      assert.deepEqual(c.readinessProbe!.httpGet, { path: '/readyz', port: 'metrics' });
      assert.deepEqual(c.resources, values.services[key]!.resources);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      const url = c.env.find((e) => e.name === 'CLICKHOUSE_URL')!;
      assert.deepEqual(url.valueFrom, { secretKeyRef: { name: 'outage-clickhouse', key: 'url' } }, 'the URL and its credentials from a Secret');
      assert.equal(c.env.find((e) => e.name === 'CATALOG')!.value, '/etc/outage/catalog/catalog.yaml');
      assert.ok(c.volumeMounts.some((m) => m.name === 'catalog' && m.mountPath === '/etc/outage/catalog'));
      assert.equal(pod.volumes.find((v) => v.name === 'catalog')!.configMap!.name, 'outage-catalog');
    }
    const catalog = byKind(ms, 'ConfigMap').find((m) => m.metadata.name === 'outage-catalog')!;
    writeFileSync(join(tmp, 'catalog.yaml'), catalog.data!['catalog.yaml']!);
    assert.ok(loadCatalog(join(tmp, 'catalog.yaml')).services.length > 0, 'the default catalog is valid');
    assert.ok(byKind(ms, 'Secret').some((s) => s.metadata.name === 'outage-clickhouse' && s.stringData!.url!.startsWith('http')));
    assert.equal(byKind(ms, 'ServiceMonitor').length, 0);
    assert.equal(byKind(ms, 'HorizontalPodAutoscaler').length, 0);
    const cron = byKind(ms, 'CronJob')[0]!;
    const job = (cron.spec!.jobTemplate as { spec: { template: { spec: PodSpec } } }).spec.template.spec.containers[0]!;
    assert.deepEqual(job.args, ['dist/cli/main.js', 'certs', 'warnings'], 'the early warnings on a schedule');
    const api = byKind(ms, 'Service').find((s) => s.metadata.name === 'outage-api')!;
    assert.deepEqual((api.spec!.ports as { name: string; port: number }[]).map((p) => [p.name, p.port]), [['metrics', 9464], ['http', 8080]]);
  });

  it('renders TLS, SASL, Secrets, a ClickHouse cluster, certificates, the ServiceMonitor and the lag autoscaler when asked', () => {
    const ms = render('-f', valuesFile);
    assert.equal(byKind(ms, 'Deployment').length, 9);
    assert.ok(!byKind(ms, 'Secret').some((s) => s.metadata.name === 'outage-clickhouse'), 'existingSecret: no Secret of ours');
    assert.ok(!byKind(ms, 'ConfigMap').some((s) => s.metadata.name === 'outage-catalog'), 'existingConfigMap: no ConfigMap of ours');
    for (const d of byKind(ms, 'Deployment')) {
      const pod = d.spec!.template!.spec;
      const c = pod.containers[0]!;
      assert.equal(c.image, 'registry.example.com/outage:1.2.3');
      const env = Object.fromEntries(c.env.map((e) => [e.name, e]));
      assert.equal(env.KAFKA_BROKERS!.value, ALL_ON.kafka.brokers);
      assert.equal(env.KAFKA_TOPIC_PREFIX!.value, 'prod.');
      assert.equal(env.KAFKA_SSL!.value, 'true');
      assert.equal(env.KAFKA_SSL_CA_FILE!.value, '/etc/outage/kafka-ca/ca.pem');
      assert.equal(env.KAFKA_SASL_MECHANISM!.value, 'scram-sha-512');
      assert.deepEqual(env.KAFKA_SASL_USERNAME!.valueFrom, { secretKeyRef: { name: 'kafka-credentials', key: 'user' } });
      assert.deepEqual(env.KAFKA_SASL_PASSWORD!.valueFrom, { secretKeyRef: { name: 'kafka-credentials', key: 'pass' } });
      assert.deepEqual(env.CLICKHOUSE_URL!.valueFrom, { secretKeyRef: { name: 'clickhouse-credentials', key: 'CLICKHOUSE_URL' } });
      assert.equal(env.CLICKHOUSE_CLUSTER!.value, 'outage_cluster');
      assert.equal(pod.volumes.find((v) => v.name === 'kafka-ca')!.secret!.secretName, 'kafka-ca');
      assert.equal(pod.volumes.find((v) => v.name === 'catalog')!.configMap!.name, 'outage-catalog');
      // Every variable is one lib/config.ts knows, and the whole environment passes it (Secrets filled in).
      for (const name of Object.keys(env)) assert.ok(name in Env.properties, `${d.metadata.name}: ${name} is not in lib/config.ts`);
      const filled = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? (e.name === 'CLICKHOUSE_URL' ? 'http://u:p@clickhouse:8123' : 'secret')]));
      loadEnv(filled);
    }
    assert.equal(deployment(ms, 'sink').spec!.replicas, undefined, 'the autoscaler owns the replicas');
    assert.equal(deployment(ms, 'correlator').spec!.replicas, 4);
    assert.deepEqual(deployment(ms, 'sink').spec!.template!.spec.containers[0]!.resources, ALL_ON.services.sink.resources);
    const inventory = deployment(ms, 'cert-inventory').spec!.template!.spec;
    const invEnv = Object.fromEntries(inventory.containers[0]!.env.map((e) => [e.name, e.value]));
    assert.equal(invEnv.CERT_DIRS, '/etc/outage/certs');
    assert.equal(invEnv.CERT_URLS, 'https://login.example.com/keys');
    assert.equal(inventory.volumes.find((v) => v.name === 'certificates')!.secret!.secretName, 'service-certificates');
    assert.deepEqual(deployment(ms, 'social-ingest').spec!.template!.spec.containers[0]!.envFrom, [{ secretRef: { name: 'x-token' } }]);
    assert.deepEqual(deployment(ms, 'annotator').spec!.template!.spec.containers[0]!.envFrom, [{ secretRef: { name: 'outage-annotator' } }]);
    assert.equal(byKind(ms, 'Secret').find((s) => s.metadata.name === 'outage-annotator')!.stringData!.GRAFANA_TOKEN, 'glsa_x');
    assert.equal(byKind(ms, 'Secret').find((s) => s.metadata.name === 'outage-report-ingest')!.stringData!.REPORT_SALT, ALL_ON.services.reportIngest.secretEnv.REPORT_SALT);

    const sm = byKind(ms, 'ServiceMonitor')[0]!;
    assert.equal(sm.metadata.labels!.release, 'prometheus');
    assert.deepEqual((sm.spec!.endpoints as { port: string; path: string }[]).map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
    const hpas = byKind(ms, 'HorizontalPodAutoscaler');
    assert.equal(hpas.length, 1);
    const hpa = hpas[0]!.spec as { scaleTargetRef: { name: string }; minReplicas: number; maxReplicas: number; metrics: { type: string; external: { metric: { name: string; selector: { matchLabels: Record<string, string> } }; target: { averageValue: string } } }[] };
    assert.equal(hpa.scaleTargetRef.name, 'outage-sink');
    assert.deepEqual([hpa.minReplicas, hpa.maxReplicas], [2, 6]);
    assert.equal(hpa.metrics[0]!.type, 'External');
    assert.deepEqual(hpa.metrics[0]!.external.metric, { name: 'outage_consumer_lag', selector: { matchLabels: { group: 'prod.sink' } } });
    assert.equal(hpa.metrics[0]!.external.target.averageValue, '10000');
  });

  it('refuses an inventory without certificates and SASL without its Secret', () => {
    assert.throws(() => render('--set', 'services.certInventory.enabled=true'), /certificates.existingSecret or certificates.urls/);
    assert.throws(() => render('--set', 'kafka.sasl.mechanism=plain'), /kafka.sasl.existingSecret is required/);
  });
});

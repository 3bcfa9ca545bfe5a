/**
 * The certificate inventory on a fixture folder written here in every supported format (from
 * certificates generated in the test), plus corrupt files, and on documents served over HTTP.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { makeCert, privateKeyPem, type Issued } from '../lib/certs/make.ts';
import { scanCertDir, scanUrls, type ScanResult } from '../lib/certs/scan.ts';
import { serviceLinks } from '../lib/certs/services.ts';
import { factsOf, x509 } from '../lib/certs/x509.ts';
import { parseCatalog } from '../lib/catalog.ts';
import { check } from '../schemas/decode.ts';

const d = (iso: string) => new Date(iso);
const sha = (i: Issued) => factsOf(i.cert).sha256;
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'outage-inventory-'));
const TS = '2020-02-03T00:00:00.000Z';

let root: Issued, inter: Issued, leaf: Issued, signing: Issued, client: Issued, p12cert: Issued;
let scan: ScanResult;
let server: Server;

const catalog = parseCatalog(`
services:
  - id: teams
    name: Teams
    hosts: ["teams.example.test"]
    dependsOn: [auth]
  - id: auth
    name: Sign-in
    hosts: ["login.example.test"]
    certificates: [{ name: token-signing }]
  - id: cluster
    name: Kubernetes API
    hosts: ["k8s.example.test"]
`);

describe('certificate inventory', () => {
  before(async () => {
    root = await makeCert({ subject: 'CN=Inventory Root', isCA: true, notBefore: d('2015-01-01T00:00:00Z'), notAfter: d('2035-01-01T00:00:00Z') });
    inter = await makeCert({ subject: 'CN=Inventory Intermediate', isCA: true, issuer: root, notBefore: d('2018-01-01T00:00:00Z'), notAfter: d('2020-01-31T00:00:00Z') });
    leaf = await makeCert({ subject: 'CN=teams.example.test', dnsNames: ['teams.example.test'], issuer: inter, notBefore: d('2019-06-01T00:00:00Z'), notAfter: d('2021-06-01T00:00:00Z') });
    signing = await makeCert({ subject: 'CN=token-signing', issuer: root, notBefore: d('2018-02-03T13:31:00Z'), notAfter: d('2020-02-03T13:31:00Z'), extendedKeyUsages: ['1.3.6.1.5.5.7.3.3'] });
    client = await makeCert({ subject: 'CN=system:admin', issuer: root, notBefore: d('2019-01-01T00:00:00Z'), notAfter: d('2020-03-01T00:00:00Z'), extendedKeyUsages: ['1.3.6.1.5.5.7.3.2'] });
    p12cert = await makeCert({ subject: 'CN=login.example.test', dnsNames: ['login.example.test'], issuer: root, notBefore: d('2019-01-01T00:00:00Z'), notAfter: d('2020-06-01T00:00:00Z') });

    const f = join(dir, 'fixtures');
    mkdirSync(join(f, 'k8s'), { recursive: true });
    writeFileSync(join(f, 'bundle.pem'), `# served chain\n${leaf.pem}${inter.pem}${await privateKeyPem(leaf)}`);
    writeFileSync(join(f, 'root.der'), new Uint8Array(root.cert.rawData));
    writeFileSync(join(f, 'chain.p7b'), new Uint8Array(new x509.X509Certificates([leaf.cert, inter.cert]).export('raw')));
    writeFileSync(join(f, 'jwks.json'), JSON.stringify({ keys: [{ kty: 'EC', kid: 'token-signing', use: 'sig', x5c: [b64(new Uint8Array(signing.cert.rawData)), b64(new Uint8Array(root.cert.rawData))] }] }));
    const secret = (name: string, ns: string) => ({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name, namespace: ns }, data: { 'tls.crt': b64(leaf.pem + inter.pem), 'tls.key': b64('secret') } });
    writeFileSync(join(f, 'k8s', 'secret.json'), JSON.stringify(secret('teams-tls', 'prod')));
    writeFileSync(join(f, 'k8s', 'secrets.yaml'), stringify({ apiVersion: 'v1', kind: 'List', items: [secret('teams-tls', 'staging')] }));
    writeFileSync(join(f, 'k8s', 'kubeconfig.yaml'), stringify({
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: 'prod', cluster: { server: 'https://k8s.example.test', 'certificate-authority-data': b64(root.pem) } }],
      users: [{ name: 'admin', user: { 'client-certificate-data': b64(client.pem), 'client-key-data': b64('key') } }],
    }));
    writeFileSync(join(f, 'ct.json'), JSON.stringify([{ id: 42, issuer_name: 'C=US, O=Example CA, CN=Example R3', common_name: 'teams.example.test', name_value: 'teams.example.test\nwww.teams.example.test', not_before: '2019-11-01T00:00:00', not_after: '2020-02-01T00:00:00', serial_number: '04ABCDEF' }]));
    // PKCS#12 as OpenSSL 3 writes it (AES-256, PBKDF2).
    writeFileSync(join(dir, 'p12.key'), await privateKeyPem(p12cert));
    writeFileSync(join(dir, 'p12.pem'), p12cert.pem);
    execFileSync('openssl', ['pkcs12', '-export', '-in', join(dir, 'p12.pem'), '-inkey', join(dir, 'p12.key'), '-out', join(f, 'login.p12'), '-passout', 'pass:s3cret']);
    execFileSync('openssl', ['pkcs12', '-export', '-in', join(dir, 'p12.pem'), '-inkey', join(dir, 'p12.key'), '-out', join(f, 'wrong-password.pfx'), '-passout', 'pass:other']);
    // Broken files.
    mkdirSync(join(f, 'broken'));
    writeFileSync(join(f, 'broken', 'notes.txt'), 'renew the teams cert before February!\n');
    writeFileSync(join(f, 'broken', 'truncated.pem'), leaf.pem.split('\n').slice(0, 5).join('\n'));
    writeFileSync(join(f, 'broken', 'bad-base64.pem'), '-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n');
    writeFileSync(join(f, 'broken', 'trailing.der'), new Uint8Array([...new Uint8Array(leaf.cert.rawData), 0xde, 0xad]));
    writeFileSync(join(f, 'broken', 'key-only.pem'), await privateKeyPem(leaf));
    writeFileSync(join(f, 'broken', 'bad.json'), '{"keys": [');

    scan = await scanCertDir(f, TS, f, { p12Passwords: { 'login.p12': 's3cret', 'wrong-password.pfx': 'nope' } });
  });
  after(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const at = (endpoint: string) => scan.observations.filter((o) => o.endpoint === endpoint);

  it('reads every format, with the fingerprints and validity of the certificates inside', () => {
    for (const o of scan.observations) assert.ok(check('CertObservation', o).ok, JSON.stringify(o));
    assert.deepEqual(at('bundle.pem').map((o) => o.sha256), [sha(leaf), sha(inter)]);
    assert.deepEqual(at('root.der').map((o) => [o.sha256, o.isCA, o.notAfter]), [[sha(root), true, '2035-01-01T00:00:00.000Z']]);
    assert.deepEqual(at('chain.p7b').map((o) => o.sha256).sort(), [sha(leaf), sha(inter)].sort());
    assert.deepEqual(at('jwks.json#jwks#token-signing').map((o) => [o.sha256, o.source, o.name]), [
      [sha(signing), 'jwks', 'token-signing'],
      [sha(root), 'jwks', 'token-signing#chain1'],
    ]);
    assert.deepEqual(at('k8s/secret.json#prod/teams-tls:tls.crt').map((o) => [o.sha256, o.source]), [[sha(leaf), 'k8s'], [sha(inter), 'k8s']]);
    assert.deepEqual(at('k8s/secrets.yaml#staging/teams-tls:tls.crt').map((o) => o.sha256), [sha(leaf), sha(inter)]);
    assert.deepEqual(at('k8s/kubeconfig.yaml#kubeconfig/cluster/prod').map((o) => o.sha256), [sha(root)]);
    assert.deepEqual(at('k8s/kubeconfig.yaml#kubeconfig/user/admin').map((o) => [o.sha256, o.notAfter]), [[sha(client), '2020-03-01T00:00:00.000Z']]);
    assert.deepEqual(at('login.p12').map((o) => o.sha256), [sha(p12cert)]);
    const [ct] = at('ct.json');
    assert.deepEqual([ct!.source, ct!.serial, ct!.notAfter, ct!.dnsNames], ['ct', '04abcdef', '2020-02-01T00:00:00.000Z', ['teams.example.test', 'www.teams.example.test']]);
  });

  it('links chains across files: leaf → intermediate → root', () => {
    const bySha = new Map(scan.observations.map((o) => [o.sha256, o]));
    assert.equal(bySha.get(sha(leaf))!.issuerSha256, sha(inter));
    assert.equal(bySha.get(sha(inter))!.issuerSha256, sha(root));
    assert.equal(bySha.get(sha(signing))!.issuerSha256, sha(root));
    assert.equal(bySha.get(sha(root))!.issuerSha256, undefined);
  });

  it('maps certificates to services by binding, name and host, and attributes an intermediate to the services of its leaves', () => {
    const links = serviceLinks(catalog, scan.observations);
    const services = (i: Issued) => [...new Set((links.get(sha(i)) ?? []).map((l) => l.service))].sort();
    assert.deepEqual(services(leaf), ['teams']);
    assert.deepEqual(services(inter), ['teams']);
    assert.deepEqual(services(signing), ['auth']);
    assert.deepEqual(services(p12cert), ['auth']);
    assert.deepEqual(services(client), []);
    assert.ok(links.get(sha(inter))!.some((l) => l.how === 'issuer of a certificate it serves'));
  });

  it('reports each broken file with its line and reason, and goes on', () => {
    const errors = scan.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).sort();
    const expect = (re: RegExp) => assert.ok(errors.some((e) => re.test(e)), `no error like ${re} in\n${errors.join('\n')}`);
    expect(/^broken\/notes\.txt:1: not a certificate: no PEM block and not DER$/);
    expect(/^broken\/truncated\.pem:1: truncated PEM: "BEGIN CERTIFICATE" has no matching END line$/);
    expect(/^broken\/bad-base64\.pem:1: bad base64 in the PEM body$/);
    expect(/^broken\/trailing\.der:1: DER has 2 bytes of trailing garbage$/);
    expect(/^broken\/key-only\.pem:1: no certificate in the file \(it holds PRIVATE KEY\)$/);
    expect(/^broken\/bad\.json:0: not valid JSON/);
    expect(/^wrong-password\.pfx:0: PKCS#12: wrong password or damaged store/);
    assert.equal(errors.length, 7, errors.join('\n'));
  });

  it('the inventory service publishes every observation and counts every broken file', async () => {
    const { MemoryBus } = await import('../lib/bus/memory-bus.ts');
    const { createLogger } = await import('../lib/log.ts');
    const { createMetrics } = await import('../lib/metrics.ts');
    const { scanOnce } = await import('../services/cert-inventory/inventory.ts');
    const { topics } = await import('../schemas/topics.ts');
    const bus = new MemoryBus();
    const got: string[] = [];
    await bus.subscribe({ group: 't', topics: [topics.certs.name], eachBatch: async (b) => void got.push(...b.map((m) => m.key)) });
    const metrics = createMetrics();
    await scanOnce({ bus, logger: createLogger('test', 'silent'), metrics, dirs: [join(dir, 'fixtures')], sourceOptions: { p12Passwords: { 'login.p12': 's3cret' } }, now: () => Date.parse(TS) });
    await bus.drain();
    assert.equal(got.length, scan.observations.length);
    assert.ok(got.every((k) => /^[0-9a-f]{64}\|/.test(k)), 'keyed by sha256 and place');
    const counted = (await metrics.inputErrors.get()).values.find((v) => v.labels.kind === 'bad_certificate')?.value;
    assert.equal(counted, scan.errors.length);
  });

  it('reads PEM bundles and JWKS documents served over HTTP', async () => {
    server = createServer((req, res) => {
      if (req.url === '/ca.pem') res.end(root.pem + inter.pem);
      else if (req.url === '/.well-known/jwks.json') res.end(JSON.stringify({ keys: [{ kid: 'k1', x5c: [b64(new Uint8Array(signing.cert.rawData))] }] }));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const r = await scanUrls([`${base}/ca.pem`, `${base}/.well-known/jwks.json`, `${base}/missing.pem`], TS);
    assert.deepEqual(r.observations.map((o) => o.sha256), [sha(root), sha(inter), sha(signing)]);
    assert.equal(r.observations.find((o) => o.sha256 === sha(inter))!.issuerSha256, sha(root));
    assert.deepEqual(r.errors.map((e) => [e.file, e.message]), [[`${base}/missing.pem`, 'HTTP 404']]);
  });
});

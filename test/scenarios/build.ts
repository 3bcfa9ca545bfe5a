/**
 * Builds the scenario corpus in this folder: one directory per case (DESIGN.md §4), each with an
 * `expected.yaml` that test/scenarios.test.ts asserts through `replay`. Certificate-caused outages
 * (leaf, intermediate, internal signing certificate, not yet valid, renewal not deployed, a
 * dependency's certificate) and controls whose spike has another cause or none.
 *
 *   node --import tsx test/scenarios/build.ts                 # every case
 *   node --import tsx test/scenarios/build.ts leaf-expired    # only the cases named
 *
 * Reports and probes are seeded; certificates get new keys on every build (the expectations are
 * written with their fingerprints at the same time), so build only the cases you add or change:
 * the others keep their committed bytes.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import type { CertObservation, ProbeResult } from '../../schemas/contracts.ts';
import { makeCert, type Issued } from '../../lib/certs/make.ts';
import { factsOf } from '../../lib/certs/x509.ts';
import { writeScenario, type OutageSpec, type ProbeFailureSpec, type ServiceSpec } from '../../lib/scenario/generate.ts';
import { chainObservations } from '../../services/prober/prober.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const DAY = '2020-03-10';
const ONSET = `${DAY}T14:00:00Z`;
const at = (hhmm: string, day = DAY) => `${day}T${hhmm}:00Z`;
const d = (iso: string) => new Date(iso);

const services = (): ServiceSpec[] => [
  { id: 'web', name: 'Shop website', endpoints: ['https://shop.example.com/'], hosts: ['shop.example.com', 'www.shop.example.com'], keywords: ['shop down'], dependsOn: ['api', 'cdn'], peakRatePerMin: 3, peakHourUtc: 14 },
  { id: 'api', name: 'Shop API', endpoints: ['https://api.shop.example.com/'], hosts: ['api.shop.example.com'], dependsOn: ['auth', 'payments'], peakRatePerMin: 1.5, peakHourUtc: 14 },
  { id: 'auth', name: 'Sign-in', endpoints: ['https://login.shop.example.com/'], hosts: ['login.shop.example.com'], certificates: [], peakRatePerMin: 0.5, peakHourUtc: 13 },
  { id: 'payments', name: 'Payments', endpoints: ['https://pay.example.net/'], hosts: ['pay.example.net'], peakRatePerMin: 0.5, peakHourUtc: 15 },
  { id: 'cdn', name: 'Static content', endpoints: ['https://static.shop.example.com/'], hosts: ['static.shop.example.com'], peakRatePerMin: 0.3, peakHourUtc: 14 },
  { id: 'blog', name: 'Company blog', endpoints: ['https://blog.example.org/'], hosts: ['blog.example.org'], peakRatePerMin: 0.3, peakHourUtc: 12 },
];

// A certificate fails everyone at once: reports climb within minutes.
const outage = (service: string, plateau = 40): OutageSpec => ({ service, startIso: ONSET, rampMinutes: 3, plateauPerMin: plateau, plateauMinutes: 60, decayMinutes: 30 });

interface Case {
  name: string;
  description: string;
  outages: OutageSpec[];
  probeFailures?: ProbeFailureSpec[];
  probeTls?: Record<string, ProbeResult['tls']>;
  /** Served chains (leaf, issuer) observed by the prober at 08:00. */
  served?: { service: string; url: string; chain: Issued[] }[];
  files?: Record<string, Issued>;
  bind?: { service: string; name: string; cert: Issued }[];
  /** Certificate observations of other sources (a secret store, a scan) at their own times. */
  observed?: { cert: Issued; ts: string; source: CertObservation['source']; endpoint: string; name?: string }[];
  /** No prober at all (the input without probe data). */
  noProbes?: boolean;
  /** Changes to the catalog's services (e.g. another kind of endpoint). */
  editServices?: (services: ServiceSpec[]) => void;
  /** Rewrites the report lines after they are generated (delivery order, redeliveries). */
  reorderReports?: (lines: string[]) => string[];
  expected: Record<string, unknown>;
}

const sha = (i: Issued) => factsOf(i.cert).sha256;
const tlsOf = (chain: Issued[]): ProbeResult['tls'] => ({ protocol: 'TLSv1.3', leafSha256: sha(chain[0]!), chainSha256: chain.map(sha), validTo: chain[0]!.cert.notAfter.toISOString() });

async function build(): Promise<void> {
  const root = await makeCert({ subject: 'CN=Corpus Root CA', isCA: true, notBefore: d('2015-01-01T00:00:00Z'), notAfter: d('2035-01-01T00:00:00Z') });
  const ca = await makeCert({ subject: 'CN=Corpus TLS CA', isCA: true, issuer: root, notBefore: d('2018-01-01T00:00:00Z'), notAfter: d('2028-01-01T00:00:00Z') });
  const leaf = (host: string, from: string, to: string, issuer: Issued = ca) => makeCert({ subject: `CN=${host}`, dnsNames: [host], issuer, notBefore: d(from), notAfter: d(to) });
  const healthy = async (host: string) => [await leaf(host, '2019-06-01T00:00:00Z', '2021-06-01T00:00:00Z'), ca];
  const failing = (service: string, code: string, extra: Partial<ProbeFailureSpec> = {}, from = at('13:58')): ProbeFailureSpec => ({
    service,
    fromIso: from,
    toIso: at('15:20'),
    error: { code, message: code.toLowerCase().replace(/_/g, ' ') },
    ...extra,
  });

  const cases: Case[] = [];
  {
    const expired = await leaf('shop.example.com', '2019-03-10T13:55:00Z', at('13:55'));
    cases.push({
      name: 'leaf-expired',
      description: "the website's TLS certificate expired at 13:55; browsers and probes fail from then",
      outages: [outage('web')],
      served: [{ service: 'web', url: 'https://shop.example.com/', chain: [expired, ca] }],
      probeFailures: [failing('web', 'CERT_HAS_EXPIRED', { tls: tlsOf([expired, ca]) }, at('13:55'))],
      expected: { incidents: [{ service: 'web', firstHint: { kind: 'cert_expired', certSha256: sha(expired) } }] },
    });
  }
  {
    const oldCa = await makeCert({ subject: 'CN=Corpus Old Intermediate', isCA: true, issuer: root, notBefore: d('2015-03-10T00:00:00Z'), notAfter: d(at('13:50')) });
    const l = await leaf('shop.example.com', '2019-06-01T00:00:00Z', '2021-06-01T00:00:00Z', oldCa);
    cases.push({
      name: 'intermediate-expired',
      description: 'the intermediate CA in the served chain expired at 13:50 while the leaf is valid',
      outages: [outage('web')],
      served: [{ service: 'web', url: 'https://shop.example.com/', chain: [l, oldCa] }],
      probeFailures: [failing('web', 'CERT_HAS_EXPIRED', { tls: tlsOf([l, oldCa]) }, at('13:50'))],
      expected: { incidents: [{ service: 'web', firstHint: { kind: 'chain_expired', certSha256: sha(oldCa) } }] },
    });
  }
  {
    const signing = await makeCert({ subject: 'CN=sso-token-signing, O=Shop', issuer: root, notBefore: d('2018-03-10T13:52:00Z'), notAfter: d(at('13:52')), extendedKeyUsages: ['1.3.6.1.5.5.7.3.3'] });
    cases.push({
      name: 'internal-signing-expired',
      description: "the sign-in service's token-signing certificate expired at 13:52; the website fails two hops away",
      outages: [outage('web')],
      files: { 'sso-token-signing.pem': signing },
      bind: [{ service: 'auth', name: 'sso-token-signing', cert: signing }],
      probeFailures: [failing('web', 'HTTP_500', { httpStatus: 500 })],
      expected: { incidents: [{ service: 'web', firstHint: { kind: 'cert_expired', certSha256: sha(signing), relatedService: 'auth' }, mentions: ['13:52 UTC', 'web → api → auth'] }] },
    });
  }
  {
    const early = await leaf('api.shop.example.com', '2020-03-11T00:00:00Z', '2021-03-11T00:00:00Z');
    cases.push({
      name: 'not-yet-valid',
      description: 'a renewed API certificate with a notBefore of tomorrow (clock skew at the CA) was deployed at 13:58',
      outages: [outage('api')],
      served: [{ service: 'api', url: 'https://api.shop.example.com/', chain: [early, ca] }],
      probeFailures: [failing('api', 'CERT_NOT_YET_VALID', { tls: tlsOf([early, ca]) })],
      expected: { incidents: [{ service: 'api', firstHint: { kind: 'cert_not_yet_valid', certSha256: sha(early) } }] },
    });
  }
  {
    const old = await leaf('static.shop.example.com', '2019-03-10T13:57:00Z', at('13:57'));
    const renewed = await leaf('static.shop.example.com', '2020-02-20T00:00:00Z', '2021-02-20T00:00:00Z');
    cases.push({
      name: 'renewal-not-deployed',
      description: 'the static-content certificate expired at 13:57; its renewal sits in the inventory but was never deployed',
      outages: [outage('web', 30)],
      served: [{ service: 'cdn', url: 'https://static.shop.example.com/', chain: [old, ca] }],
      files: { 'static-shop-2020.pem': renewed },
      probeFailures: [failing('cdn', 'CERT_HAS_EXPIRED', { tls: tlsOf([old, ca]) }, at('13:57'))],
      expected: { incidents: [{ service: 'web', firstHint: { kind: 'cert_expired', certSha256: sha(old), relatedService: 'cdn' }, hasHint: ['renewal_not_deployed'] }], neverBlamed: [sha(renewed)] },
    });
  }
  {
    const pay = await leaf('pay.example.net', '2019-03-10T13:56:00Z', at('13:56'));
    cases.push({
      name: 'dependency-cert-expired',
      description: "the payment provider's certificate expired at 13:56; users report the API (checkout) failing",
      outages: [outage('api')],
      served: [{ service: 'payments', url: 'https://pay.example.net/', chain: [pay, ca] }],
      probeFailures: [failing('payments', 'CERT_HAS_EXPIRED', { tls: tlsOf([pay, ca]) }, at('13:56'))],
      expected: { incidents: [{ service: 'api', firstHint: { kind: 'cert_expired', certSha256: sha(pay), relatedService: 'payments' } }] },
    });
  }
  cases.push({
    name: 'control-dns-failure',
    description: "the website's DNS records vanished at 13:58; no certificate is involved",
    outages: [outage('web')],
    served: [{ service: 'web', url: 'https://shop.example.com/', chain: await healthy('shop.example.com') }],
    probeFailures: [failing('web', 'ENOTFOUND')],
    expected: { incidents: [{ service: 'web', firstHint: { kind: 'probe_failure' } }], noCertificateBlame: true },
  });
  cases.push({
    name: 'control-http-5xx',
    description: 'the API returns 503 from 13:58 (a bad deploy); certificates are fine',
    outages: [outage('api')],
    served: [{ service: 'api', url: 'https://api.shop.example.com/', chain: await healthy('api.shop.example.com') }],
    probeFailures: [failing('api', 'HTTP_503', { httpStatus: 503 })],
    expected: { incidents: [{ service: 'api', firstHint: { kind: 'probe_failure' } }], noCertificateBlame: true },
  });
  cases.push({
    name: 'control-no-evidence',
    description: 'users report the website down; no probe, certificate or vendor evidence at all',
    outages: [outage('web')],
    expected: { incidents: [{ service: 'web' }], noCertificateBlame: true },
  });
  {
    const ancient = await leaf('shop.example.com', '2018-11-10T00:00:00Z', '2019-11-10T00:00:00Z');
    cases.push({
      name: 'control-old-expired-unrelated',
      description: 'the website spikes for an unknown reason; a certificate for its names expired four months earlier',
      outages: [outage('web')],
      files: { 'shop-2019.pem': ancient },
      probeFailures: [failing('web', 'HTTP_502', { httpStatus: 502 })],
      expected: { incidents: [{ service: 'web' }], neverBlamed: [sha(ancient)], noCertificateBlame: true },
    });
  }
  {
    const blog = await leaf('blog.example.org', '2019-03-10T13:58:00Z', at('13:58'));
    cases.push({
      name: 'control-other-service-cert',
      description: "the website spikes (HTTP 500) while the blog's certificate, not a dependency, expired at 13:58",
      outages: [outage('web')],
      served: [{ service: 'blog', url: 'https://blog.example.org/', chain: [blog, ca] }],
      probeFailures: [failing('web', 'HTTP_500', { httpStatus: 500 }), failing('blog', 'CERT_HAS_EXPIRED', { tls: tlsOf([blog, ca]) })],
      expected: { incidents: [{ service: 'web', firstHint: { kind: 'probe_failure' } }], neverBlamed: [sha(blog)], noCertificateBlame: true },
    });
  }
  {
    const stale = await leaf('shop.example.com', '2019-03-10T13:50:00Z', at('13:50'));
    const current = await leaf('shop.example.com', '2020-02-01T00:00:00Z', '2021-02-01T00:00:00Z');
    cases.push({
      name: 'control-stale-copy',
      description: 'a stale copy of the website certificate (expired 13:50) lies in a folder while its renewal is served; the spike is a 5xx',
      outages: [outage('web')],
      served: [{ service: 'web', url: 'https://shop.example.com/', chain: [current, ca] }],
      files: { 'old/shop-2019.pem': stale },
      probeFailures: [failing('web', 'HTTP_500', { httpStatus: 500, tls: tlsOf([current, ca]) })],
      expected: { incidents: [{ service: 'web', firstHint: { kind: 'probe_failure' } }], neverBlamed: [sha(stale)], noCertificateBlame: true },
    });
  }
  {
    const unused = await leaf('blog.example.org', '2019-03-10T13:58:00Z', at('13:58'));
    cases.push({
      name: 'control-expired-no-spike',
      description: "the blog's certificate expired at 13:58 but nobody reported anything: no incident",
      outages: [],
      served: [{ service: 'blog', url: 'https://blog.example.org/', chain: [unused, ca] }],
      probeFailures: [failing('blog', 'CERT_HAS_EXPIRED', { tls: tlsOf([unused, ca]) })],
      expected: { incidents: [] },
    });
  }

  // Each blame rule of DESIGN.md §5, with a case that the rule decides.
  cases.push({
    name: 'http-endpoint',
    description: 'the website also has a plain http:// health endpoint; both fail with HTTP 503 from 13:58 (a bad deploy)',
    outages: [outage('web')],
    editServices: (svc) => {
      svc.find((s) => s.id === 'web')!.endpoints = ['https://shop.example.com/', 'http://shop.example.com/health'];
    },
    served: [{ service: 'web', url: 'https://shop.example.com/', chain: await healthy('shop.example.com') }],
    probeFailures: [failing('web', 'HTTP_503', { httpStatus: 503 })],
    expected: { incidents: [{ service: 'web', firstHint: { kind: 'probe_failure' }, mentions: ['http://shop.example.com/health'] }], noCertificateBlame: true },
  });
  {
    const pay = await leaf('pay.example.net', '2019-03-10T13:15:00Z', at('13:15'));
    cases.push({
      name: 'dependency-root-cause-first',
      description:
        "the payment provider's certificate expired at 13:15 (open sessions kept checkout going for a while); payments and the API that depends on it both spike from 14:00, without probe data: one cause, one outage",
      outages: [outage('api'), outage('payments', 20)],
      noProbes: true,
      served: [{ service: 'payments', url: 'https://pay.example.net/', chain: [pay, ca] }],
      expected: {
        incidents: [
          { service: 'api', firstHint: { kind: 'cert_expired', certSha256: sha(pay), relatedService: 'payments' }, mentions: ['api → payments'] },
          { service: 'payments', firstHint: { kind: 'cert_expired', certSha256: sha(pay) } },
        ],
        sameOutage: [['api', 'payments']],
      },
    });
  }
  {
    // A cross-signed root (issued by the corpus root) and the intermediate under it, both ending at 13:55.
    const cross = await makeCert({ subject: 'CN=Corpus Cross Root', isCA: true, issuer: root, notBefore: d('2015-03-10T13:55:00Z'), notAfter: d(at('13:55')) });
    const inter = await makeCert({ subject: 'CN=Corpus Chain Intermediate', isCA: true, issuer: cross, notBefore: d('2016-03-10T13:55:00Z'), notAfter: d(at('13:55')) });
    const l = await leaf('shop.example.com', '2019-06-01T00:00:00Z', '2021-06-01T00:00:00Z', inter);
    cases.push({
      name: 'cross-signed-chain-expired',
      description: 'a cross-signed root and the intermediate under it expired at the same instant (13:55): one cause, not two suspects',
      outages: [outage('web')],
      served: [{ service: 'web', url: 'https://shop.example.com/', chain: [l, inter, cross] }],
      probeFailures: [failing('web', 'CERT_HAS_EXPIRED', { tls: tlsOf([l, inter, cross]) }, at('13:55'))],
      expected: { incidents: [{ service: 'web', firstHint: { kind: 'chain_expired', certSha256: sha(inter), minConfidence: 0.5 }, mentions: ['Corpus Cross Root', '13:55 UTC'] }] },
    });
  }
  {
    const old = await makeCert({ subject: 'CN=Shop static content, O=Shop', dnsNames: ['static.shop.example.com'], issuer: ca, notBefore: d('2019-03-10T13:57:00Z'), notAfter: d(at('13:57')) });
    const other = await makeCert({ subject: 'CN=Shop static content, O=Shop', dnsNames: ['assets.shop.example.com'], issuer: ca, notBefore: d('2020-02-20T00:00:00Z'), notAfter: d('2021-02-20T00:00:00Z') });
    cases.push({
      name: 'renewal-other-names',
      description: 'the static-content certificate expired at 13:57; a newer certificate with the same subject but for other host names is bound to the same service: not its renewal',
      outages: [outage('web', 30)],
      served: [{ service: 'cdn', url: 'https://static.shop.example.com/', chain: [old, ca] }],
      files: { 'assets-shop-2020.pem': other },
      bind: [{ service: 'cdn', name: 'assets-shop-2020', cert: other }],
      probeFailures: [failing('cdn', 'CERT_HAS_EXPIRED', { tls: tlsOf([old, ca]) }, at('13:57'))],
      expected: { incidents: [{ service: 'web', firstHint: { kind: 'cert_expired', certSha256: sha(old), relatedService: 'cdn' }, noHint: ['renewal_not_deployed'] }], neverBlamed: [sha(other)] },
    });
  }
  {
    const staged = await leaf('api.shop.example.com', at('16:00'), '2021-03-10T16:00:00Z');
    cases.push({
      name: 'not-yet-valid-never-served',
      description: 'the API spikes at 14:00 without probe data; its renewal (valid from 16:00) was put in the secret store at 13:30 and never served',
      outages: [outage('api')],
      noProbes: true,
      observed: [{ cert: staged, ts: at('13:30'), source: 'k8s', endpoint: 'shop/api-tls-next:tls.crt', name: 'api-tls-next' }],
      bind: [{ service: 'api', name: 'api-tls-next', cert: staged }],
      expected: { incidents: [{ service: 'api' }], neverBlamed: [sha(staged)], noCertificateBlame: true },
    });
  }
  {
    // The API's partition is read four hours behind the others, and its consumer restarts every ten
    // minutes from its last commit a quarter of an hour back: those reports arrive again.
    const LAG = 4 * 3_600_000;
    let redelivered = 0;
    cases.push({
      name: 'redelivery-lagging-partition',
      description: "the API's reports are read four hours behind the other services' and partly redelivered; every redelivered report counts once",
      outages: [outage('api')],
      reorderReports: (lines) => {
        const keyed = lines.map((line, i) => {
          const r = JSON.parse(line) as { ts: string; service: string };
          const t = Date.parse(r.ts);
          return { line, i, key: r.service === 'api' ? t + LAG : t, api: r.service === 'api', t };
        });
        const from = Date.parse(at('12:00'));
        const to = Date.parse(at('16:00'));
        const again: typeof keyed = [];
        for (let restart = from; restart < to; restart += 10 * 60_000) {
          for (const e of keyed) if (e.api && e.t >= restart - 15 * 60_000 && e.t < restart) again.push({ ...e, key: restart + LAG, i: e.i + lines.length });
        }
        redelivered = again.length;
        return [...keyed, ...again].sort((a, b) => a.key - b.key || a.i - b.i).map((e) => e.line);
      },
      expected: {
        incidents: [{ service: 'api' }],
        get duplicatesDropped() {
          return redelivered;
        },
      },
    });
  }

  const only = process.argv.slice(2);
  for (const [i, c] of cases.entries()) {
    if (only.length > 0 && !only.includes(c.name)) continue;
    const dir = join(HERE, c.name);
    rmSync(dir, { recursive: true, force: true });
    const svc = services();
    c.editServices?.(svc);
    for (const b of c.bind ?? []) svc.find((s) => s.id === b.service)!.certificates = [{ name: b.name, sha256: sha(b.cert) }];
    const probeTls: Record<string, ProbeResult['tls']> = { ...c.probeTls };
    for (const s of c.served ?? []) probeTls[s.service] ??= tlsOf(s.chain);
    await writeScenario(dir, {
      services: svc,
      startIso: '2020-03-07T00:00:00Z',
      days: 4,
      seed: 1000 + i,
      gzipReports: true,
      gzipProbes: true,
      outages: c.outages,
      probeRegions: c.noProbes ? [] : ['eu', 'us'],
      probesFromIso: at('12:00'),
      probesToIso: at('17:00'),
      probeTls,
      probeFailures: c.probeFailures ?? [],
    });
    const observations: CertObservation[] = (c.served ?? []).flatMap((s) =>
      chainObservations({
        result: { id: `seed-${s.service}`, ts: at('08:00'), probe: `https-${s.service}`, service: s.service, target: s.url, ok: true, durationMs: 100 },
        chain: s.chain.map((x, j) => ({ ...factsOf(x.cert), ...(s.chain[j + 1] ? { issuerSha256: sha(s.chain[j + 1]!) } : {}) })),
      }),
    );
    for (const o of c.observed ?? []) observations.push({ ts: o.ts, source: o.source, ...factsOf(o.cert.cert), endpoint: o.endpoint, ...(o.name ? { name: o.name } : {}) });
    if (c.reorderReports) {
      const file = join(dir, 'reports.ndjson.gz');
      const lines = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n');
      writeFileSync(file, gzipSync(`${c.reorderReports(lines).join('\n')}\n`, { level: 9 }));
    }
    if (observations.length > 0) writeFileSync(join(dir, 'certs.ndjson'), observations.map((o) => JSON.stringify(o)).join('\n') + '\n');
    for (const [file, cert] of Object.entries(c.files ?? {})) {
      mkdirSync(dirname(join(dir, 'certs', file)), { recursive: true });
      writeFileSync(join(dir, 'certs', file), cert.pem);
    }
    // Detection within 3 minutes of the onset (reports start at 14:00).
    const onset = { onsetBetween: [at('13:50'), at('14:02')], detectedBy: at('14:03') };
    const expected = {
      description: c.description,
      ...c.expected,
      incidents: (c.expected.incidents as Record<string, unknown>[]).map((inc) => ({ ...onset, ...inc })),
      noOtherIncidents: true,
    };
    writeFileSync(join(dir, 'expected.yaml'), `# Built by test/scenarios/build.ts; asserted by test/scenarios.test.ts.\n${stringify(expected, { lineWidth: 140 })}`);
    process.stdout.write(`${c.name}\n`);
  }
}

await build();

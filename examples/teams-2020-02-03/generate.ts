/**
 * Builds the bundled example from the facts of the 2020-02-03 Microsoft Teams outage:
 * users reported from about 13:40 UTC, more than 3,000 reports by 14:27, and @MSFT365Status said
 * an authentication certificate had expired (TM202916).
 *
 * Seven days of seasonal background for every catalog service come before the outage day. The
 * token-signing certificate of the sign-in dependency expired at 13:31; probes of Teams fail from
 * 13:41. Two look-alikes must not be blamed: a zoom certificate that expired at 13:36 (closer to
 * the onset, but another service's, and already renewed) and last year's token-signing
 * certificate left in a folder.
 *
 *   npx tsx examples/teams-2020-02-03/generate.ts
 *
 * Reports and probes are seeded (same bytes every run); the certificates get new keys each run,
 * so the catalog's sha256 binding is rewritten with them.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { CertObservation, StatusPost } from '../../schemas/contracts.ts';
import { makeCert, type Issued } from '../../lib/certs/make.ts';
import { factsOf } from '../../lib/certs/x509.ts';
import { writeScenario, type ServiceSpec } from '../../lib/scenario/generate.ts';
import { chainObservations } from '../../services/prober/prober.ts';

const dir = dirname(fileURLToPath(import.meta.url));
const d = (iso: string) => new Date(iso);

const root = await makeCert({ subject: 'CN=Example Global Root CA, O=Example Trust', isCA: true, notBefore: d('2015-01-01T00:00:00Z'), notAfter: d('2035-01-01T00:00:00Z') });
const tls = await makeCert({ subject: 'CN=Example TLS CA 2019, O=Example Trust', isCA: true, issuer: root, notBefore: d('2019-01-01T00:00:00Z'), notAfter: d('2027-01-01T00:00:00Z') });
const leaf = (cn: string, names: string[], from: string, to: string, issuer: Issued = tls) =>
  makeCert({ subject: `CN=${cn}`, dnsNames: names, issuer, notBefore: d(from), notAfter: d(to) });
const signing = (cn: string, from: string, to: string) =>
  makeCert({ subject: `CN=${cn}, O=Microsoft Teams`, issuer: root, notBefore: d(from), notAfter: d(to), extendedKeyUsages: ['1.3.6.1.5.5.7.3.3'] });

const certs = {
  tokenSigning: await signing('teams-auth-token-signing', '2018-02-03T13:31:00Z', '2020-02-03T13:31:00Z'),
  tokenSigningOld: await signing('teams-auth-token-signing', '2017-02-03T13:31:00Z', '2018-02-03T13:31:00Z'),
  teams: await leaf('teams.microsoft.com', ['teams.microsoft.com', '*.teams.microsoft.com'], '2019-06-01T00:00:00Z', '2021-06-01T00:00:00Z'),
  login: await leaf('login.microsoftonline.com', ['login.microsoftonline.com'], '2019-09-01T00:00:00Z', '2021-09-01T00:00:00Z'),
  outlook: await leaf('outlook.office.com', ['outlook.office.com', 'outlook.office365.com'], '2019-02-12T00:00:00Z', '2020-02-12T09:00:00Z'),
  zoomOld: await leaf('api.zoom.us', ['api.zoom.us', 'zoom.us'], '2019-02-03T13:36:00Z', '2020-02-03T13:36:00Z'),
  zoom: await leaf('api.zoom.us', ['api.zoom.us', 'zoom.us'], '2020-01-20T00:00:00Z', '2021-01-20T00:00:00Z'),
  slack: await leaf('slack.com', ['slack.com', '*.slack.com'], '2019-11-01T00:00:00Z', '2020-11-01T00:00:00Z'),
};
const sha = (i: Issued) => factsOf(i.cert).sha256;

const services: ServiceSpec[] = [
  {
    id: 'teams',
    name: 'Microsoft Teams',
    endpoints: ['https://teams.microsoft.com/'],
    hosts: ['teams.microsoft.com', '*.teams.microsoft.com'],
    keywords: ['teams down', '#teamsdown', 'microsoft teams'],
    statusAccounts: ['MSFT365Status'],
    dependsOn: ['m365-auth'],
    peakRatePerMin: 1.5,
    peakHourUtc: 13,
  },
  {
    id: 'm365-auth',
    name: 'Microsoft 365 sign-in',
    endpoints: ['https://login.microsoftonline.com/'],
    hosts: ['login.microsoftonline.com'],
    statusAccounts: ['MSFT365Status'],
    certificates: [{ name: 'teams-auth-token-signing', sha256: sha(certs.tokenSigning) }],
    peakRatePerMin: 0.3,
    peakHourUtc: 12,
  },
  {
    id: 'outlook',
    name: 'Outlook on the web',
    endpoints: ['https://outlook.office.com/'],
    hosts: ['outlook.office.com', 'outlook.office365.com'],
    keywords: ['outlook down'],
    statusAccounts: ['MSFT365Status'],
    dependsOn: ['m365-auth'],
    peakRatePerMin: 2,
    peakHourUtc: 11,
  },
  {
    id: 'sharepoint',
    name: 'SharePoint Online',
    endpoints: ['https://sharepoint.com/'],
    hosts: ['sharepoint.com', '*.sharepoint.com'],
    dependsOn: ['m365-auth'],
    peakRatePerMin: 0.6,
    peakHourUtc: 14,
  },
  {
    id: 'slack',
    name: 'Slack',
    endpoints: ['https://slack.com/'],
    hosts: ['slack.com', '*.slack.com'],
    keywords: ['slack down'],
    statusAccounts: ['SlackStatus'],
    peakRatePerMin: 1,
    peakHourUtc: 16,
  },
  {
    id: 'zoom',
    name: 'Zoom',
    endpoints: ['https://api.zoom.us/'],
    hosts: ['api.zoom.us', 'zoom.us'],
    keywords: ['zoom down'],
    statusAccounts: ['zoom_us'],
    peakRatePerMin: 1,
    peakHourUtc: 15,
  },
];

for (const f of ['reports.ndjson', 'reports.ndjson.gz', 'probes.ndjson', 'certs']) rmSync(join(dir, f), { recursive: true, force: true });

const counts = await writeScenario(dir, {
  services,
  startIso: '2020-01-27T00:00:00Z',
  days: 8,
  seed: 20200203,
  gzipReports: true,
  outages: [
    { service: 'teams', startIso: '2020-02-03T13:40:00Z', rampMinutes: 45, plateauPerMin: 160, plateauMinutes: 90, decayMinutes: 120, problem: 'login' },
  ],
  probeRegions: ['eu-west', 'us-east', 'ap-south'],
  probesFromIso: '2020-02-03T10:00:00Z',
  probesToIso: '2020-02-03T20:00:00Z',
  probeTls: {
    teams: { protocol: 'TLSv1.2', leafSha256: sha(certs.teams), chainSha256: [sha(certs.teams), sha(tls)], validTo: '2021-06-01T00:00:00.000Z' },
    'm365-auth': { protocol: 'TLSv1.2', leafSha256: sha(certs.login), chainSha256: [sha(certs.login), sha(tls)], validTo: '2021-09-01T00:00:00.000Z' },
    zoom: { protocol: 'TLSv1.3', leafSha256: sha(certs.zoom), chainSha256: [sha(certs.zoom), sha(tls)], validTo: '2021-01-20T00:00:00.000Z' },
  },
  probeFailures: [
    {
      service: 'teams',
      fromIso: '2020-02-03T13:41:00Z',
      toIso: '2020-02-03T17:30:00Z',
      httpStatus: 503,
      error: { code: 'HTTP_503', message: 'Service Unavailable: authentication token could not be validated' },
    },
  ],
});

// Certificate files as an inventory would find them (observed at the replay's first event).
const certDir = join(dir, 'certs');
mkdirSync(join(certDir, 'old'), { recursive: true });
mkdirSync(join(certDir, 'zoom'), { recursive: true });
writeFileSync(join(certDir, 'teams-auth-token-signing.pem'), certs.tokenSigning.pem);
writeFileSync(join(certDir, 'old', 'teams-auth-token-signing-2017.pem'), certs.tokenSigningOld.pem);
writeFileSync(join(certDir, 'zoom', 'api-zoom-us-2019.pem'), certs.zoomOld.pem);
writeFileSync(join(certDir, 'outlook-office-com.pem'), certs.outlook.pem);
writeFileSync(join(certDir, 'example-ca-bundle.pem'), root.pem + tls.pem);

// What the prober saw served on the morning of the outage day, through the prober's own code
// path from a check's outcome to its certificate observations.
const served = (i: Issued, target: string, service: string, issuer: Issued): CertObservation[] =>
  chainObservations({
    result: { id: `seed-${service}`, ts: '2020-02-03T10:00:00.000Z', probe: `https-${service}`, service, target, ok: true, durationMs: 120 },
    chain: [i, issuer].map((c) => ({ ...factsOf(c.cert), ...(c === i ? { issuerSha256: sha(issuer) } : {}) })),
  }).slice(0, 1);
const observations = [
  ...served(certs.teams, 'https://teams.microsoft.com/', 'teams', tls),
  ...served(certs.login, 'https://login.microsoftonline.com/', 'm365-auth', tls),
  ...served(certs.outlook, 'https://outlook.office.com/', 'outlook', tls),
  ...served(certs.zoom, 'https://api.zoom.us/', 'zoom', tls),
  ...served(certs.slack, 'https://slack.com/', 'slack', tls),
];
writeFileSync(join(dir, 'certs.ndjson'), observations.map((o) => JSON.stringify(o)).join('\n') + '\n');

const post = (id: string, ts: string, text: string): StatusPost => ({
  id,
  ts,
  service: 'teams',
  account: 'MSFT365Status',
  text,
  url: `https://twitter.com/MSFT365Status/status/${id}`,
});
const posts = [
  post('1224346543118864385', '2020-02-03T14:05:00Z', "We're investigating an issue where some users are unable to access Microsoft Teams. More details can be found in the admin center under TM202916."),
  post('1224365012853182464', '2020-02-03T15:13:00Z', "We've determined that an authentication certificate has expired causing, users to have issues using the service. We're developing a fix to apply a new certificate to the service which will remediate impact. Further updates can be found under TM202916 in the admin center."),
  post('1224377213449203713', '2020-02-03T16:02:00Z', "We've initiated the deployment of the updated certificate and are monitoring service health as the fix progresses. Additional information can be found under TM202916 in the admin center."),
];
writeFileSync(join(dir, 'posts.ndjson'), posts.map((p) => JSON.stringify(p)).join('\n') + '\n');

const expected = {
  description: 'Microsoft Teams, 2020-02-03: an expired token-signing certificate of the sign-in dependency',
  incidents: [
    {
      service: 'teams',
      onsetBetween: ['2020-02-03T13:30:00Z', '2020-02-03T13:45:00Z'],
      // The rise starts at 13:40; detection within 3 minutes of the first clearly elevated minute.
      detectedBy: '2020-02-03T13:44:00Z',
      status: 'resolved',
      firstHint: { kind: 'cert_expired', certName: 'teams-auth-token-signing', certSha256: sha(certs.tokenSigning), relatedService: 'm365-auth', minConfidence: 0.5 },
      mentions: ['13:31 UTC', 'm365-auth'],
    },
  ],
  noOtherIncidents: true,
  neverBlamed: [sha(certs.zoomOld), sha(certs.tokenSigningOld), sha(certs.outlook)],
};
writeFileSync(
  join(dir, 'expected.yaml'),
  `# What the tests assert about this scenario (see test/scenarios.test.ts).\n${stringify(expected, { lineWidth: 140 })}`,
);
process.stdout.write(`wrote ${counts.reports} reports, ${counts.probes} probe results, ${observations.length} served certificates, ${posts.length} posts to ${dir}\n`);

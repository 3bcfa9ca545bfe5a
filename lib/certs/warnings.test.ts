import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CertObservation } from '../../schemas/contracts.ts';
import { parseCatalog } from '../catalog.ts';
import { expiryWarnings } from './warnings.ts';

const NOW = Date.parse('2020-02-04T00:00:00Z');
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const cert = (sha: string, fromDays: number, toDays: number, extra: Partial<CertObservation> = {}): CertObservation => ({
  ts: iso(NOW - DAY),
  source: 'file',
  sha256: sha.repeat(64).slice(0, 64),
  subject: `CN=${extra.dnsNames?.[0] ?? sha}`,
  issuer: 'CN=CA',
  serial: '01',
  notBefore: iso(NOW + fromDays * DAY),
  notAfter: iso(NOW + toDays * DAY),
  dnsNames: [],
  isCA: false,
  ...extra,
});

const catalog = parseCatalog(`
services:
  - id: web
    name: Web
    hosts: [web.example.com]
    dependsOn: [auth]
  - id: auth
    name: Auth
    hosts: [auth.example.com]
    certificates: [{ name: signing, warnDays: [60] }]
  - id: mobile
    name: Mobile
    dependsOn: [auth]
    hosts: [m.example.com]
    certWarnDays: [3]
`);

describe('certificate expiry warnings', () => {
  it('warns a 90-day certificate 18 days ahead and a 7-day certificate a day ahead (share of lifetime)', () => {
    const w = expiryWarnings([cert('a', -72, 18, { dnsNames: ['web.example.com'] }), cert('b', -6, 1, { dnsNames: ['web.example.com'] }), cert('c', -60, 40, { dnsNames: ['web.example.com'] })], catalog, NOW);
    const by = new Map(w.map((x) => [x.sha256[0], x]));
    assert.equal(by.get('a')!.level, 'notice');
    assert.equal(by.get('b')!.level, 'critical');
    assert.equal(by.has('c'), false, '40 days left of 100: no warning yet');
  });

  it('names the blast radius: every service depending on the one the certificate serves', () => {
    const [w] = expiryWarnings([cert('d', -300, 50, { name: 'signing' })], catalog, NOW);
    assert.deepEqual([w!.services, w!.blastRadius], [['auth'], ['auth', 'mobile', 'web']]);
    assert.match(w!.reason, /within the 60-day horizon\); serves auth; blast radius auth, mobile, web/);
  });

  it('honours per-service horizons and never keeps an expired certificate silent', () => {
    const w = expiryWarnings([cert('e', -100, 5, { dnsNames: ['m.example.com'] }), cert('f', -400, -30, { dnsNames: ['nothing.example.com'] })], catalog, NOW);
    assert.equal(w.some((x) => x.sha256[0] === 'e'), false, 'mobile warns 3 days ahead only');
    const expired = w.find((x) => x.sha256[0] === 'f')!;
    assert.deepEqual([expired.level, expired.services], ['expired', []]);
  });

  it('reports a renewal that exists but is not deployed', () => {
    const w = expiryWarnings(
      [
        cert('g', -360, 2, { dnsNames: ['web.example.com'], source: 'probe', endpoint: 'web.example.com:443' }),
        cert('h', -1, 364, { dnsNames: ['web.example.com'], endpoint: 'certs/web-2020.pem' }),
      ],
      catalog,
      NOW,
    );
    const g = w.find((x) => x.sha256[0] === 'g')!;
    assert.deepEqual(g.renewal, { sha256: 'h'.repeat(64), notAfter: iso(NOW + 364 * DAY), deployed: false });
    assert.match(g.reason, /a renewal hhhhhhhhhhhh… exists but is not deployed/);
  });

  it('does not call a newer certificate for other names a renewal, nor one observed after the warning time', () => {
    const w = expiryWarnings(
      [
        cert('i', -360, 2, { dnsNames: ['web.example.com'], subject: 'CN=Web, O=Example', source: 'probe', endpoint: 'web.example.com:443' }),
        cert('j', -1, 364, { dnsNames: ['m.example.com'], subject: 'CN=Web, O=Example', endpoint: 'certs/other.pem' }),
        cert('k', -1, 364, { dnsNames: ['web.example.com'], ts: iso(NOW + DAY), endpoint: 'certs/later.pem' }),
      ],
      catalog,
      NOW,
    );
    assert.equal(w.find((x) => x.sha256[0] === 'i')!.renewal, undefined);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CertObservation } from '../../../schemas/contracts.ts';
import { certKey } from '../../../schemas/topics.ts';
import { CertTable } from './evidence.ts';

const observation = (o: Partial<CertObservation> & { sha256: string; ts: string; source: CertObservation['source'] }): CertObservation => ({
  subject: 'CN=one.test',
  issuer: 'CN=Test CA',
  serial: '01',
  notBefore: '2019-01-01T00:00:00Z',
  notAfter: '2021-01-01T00:00:00Z',
  dnsNames: ['One.Test'],
  isCA: false,
  ...o,
});

test('a certificate has one place per certKey, in order of first sight, past the scanned few too', () => {
  const table = new CertTable();
  // Keys that only differ by what is absent: no endpoint, an empty one, one spelt like a source.
  const endpoints = [undefined, '', 'file', 'probe', ...Array.from({ length: 12 }, (_, i) => `h${i}.test:443`)];
  const want = new Map<string, { firstSeenMs: number; lastSeenMs: number; service?: string }>();
  for (let i = 0; i < 400; i++) {
    const endpoint = endpoints[(i * 7) % endpoints.length];
    const source = i % 3 === 0 ? 'probe' : 'file';
    const ms = Date.UTC(2020, 0, 1) + ((i * 7919) % 86_400) * 1000;
    const service = i % 5 === 0 ? `svc-${i % 4}` : undefined;
    const o = observation({ sha256: 'a'.repeat(64), ts: new Date(ms).toISOString(), source, ...(endpoint !== undefined ? { endpoint } : {}), ...(service ? { service } : {}) });
    table.upsert(o);
    const key = certKey(o);
    const p = want.get(key);
    if (!p) want.set(key, { firstSeenMs: ms, lastSeenMs: ms, ...(service ? { service } : {}) });
    else {
      p.firstSeenMs = Math.min(p.firstSeenMs, ms);
      p.lastSeenMs = Math.max(p.lastSeenMs, ms);
      if (service) p.service = service;
    }
  }
  const cert = table.bySha.get('a'.repeat(64))!;
  assert.deepEqual(
    cert.places.map((p) => ({ firstSeenMs: p.firstSeenMs, lastSeenMs: p.lastSeenMs, ...(p.service ? { service: p.service } : {}) })),
    [...want.values()],
  );
  assert.deepEqual(cert.dnsNames, ['one.test']);
});

test('places keep their endpoint, its host and the service as observed', () => {
  const table = new CertTable();
  table.upsert(observation({ sha256: 'b'.repeat(64), ts: '2020-01-01T00:00:00Z', source: 'probe', endpoint: 'One.Test:443', service: 'svc' }));
  table.upsert(observation({ sha256: 'c'.repeat(64), ts: '2020-01-01T00:01:00Z', source: 'file' }));
  assert.deepEqual(table.bySha.get('b'.repeat(64))!.places, [
    { source: 'probe', endpoint: 'One.Test:443', host: 'one.test', service: 'svc', firstSeenMs: Date.UTC(2020, 0, 1), lastSeenMs: Date.UTC(2020, 0, 1) },
  ]);
  assert.deepEqual(table.bySha.get('c'.repeat(64))!.places, [{ source: 'file', firstSeenMs: Date.UTC(2020, 0, 1, 0, 1), lastSeenMs: Date.UTC(2020, 0, 1, 0, 1) }]);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commonName, coversNames, daysLeft, earliestExpiry, isRenewalOf, namesOf, supersedes, type CertIdentity } from './facts.ts';

const DAY = 86_400_000;
const T = Date.parse('2020-03-10T14:00:00Z');
const cert = (sha: string, fromDays: number, toDays: number, dnsNames: string[], subject = `CN=${dnsNames[0] ?? sha}`): CertIdentity & { firstSeenMs: number } => ({
  sha256: sha.repeat(64).slice(0, 64),
  subject,
  dnsNames,
  notBeforeMs: T + fromDays * DAY,
  notAfterMs: T + toDays * DAY,
  isCA: false,
  firstSeenMs: T - DAY,
});

describe('certificate facts', () => {
  it('reads the CN of a distinguished name, wherever it stands', () => {
    assert.equal(commonName('CN=shop.example.com, O=Shop'), 'shop.example.com');
    assert.equal(commonName('C=US, O=Shop, CN=Shop Root CA'), 'Shop Root CA');
    assert.equal(commonName('O=No common name'), undefined);
  });

  it('counts days left and finds the earliest expiry of a chain', () => {
    assert.equal(daysLeft(T + 2 * DAY, T), 2);
    assert.equal(daysLeft(T - DAY / 2, T), -0.5);
    assert.equal(earliestExpiry([{ notAfter: '2021-06-01T00:00:00.000Z' }, { notAfter: '2020-03-10T13:50:00.000Z' }]), '2020-03-10T13:50:00.000Z');
    assert.equal(earliestExpiry([]), undefined);
  });

  it('takes the SAN names, or the CN when there are none', () => {
    assert.deepEqual(namesOf({ subject: 'CN=Static, O=Shop', dnsNames: ['Static.Shop.example.com'] }), ['static.shop.example.com']);
    assert.deepEqual(namesOf({ subject: 'CN=sso-token-signing, O=Shop', dnsNames: [] }), ['sso-token-signing']);
  });

  it('a renewal covers every name of the expired certificate (a wildcard covers one label)', () => {
    const old = cert('a', -365, 0, ['shop.example.com', 'www.shop.example.com']);
    assert.ok(coversNames(cert('b', 0, 365, ['*.shop.example.com', 'shop.example.com']), old));
    assert.ok(!coversNames(cert('c', 0, 365, ['shop.example.com']), old), 'www is not covered');
    assert.ok(!coversNames(cert('d', 0, 365, ['assets.shop.example.com'], 'CN=shop.example.com'), old), 'a shared subject is not a shared name');
  });

  it('a renewal is newer at both ends and existed by the time asked about', () => {
    const old = cert('a', -365, 0, ['shop.example.com']);
    assert.ok(isRenewalOf(cert('b', -10, 355, ['shop.example.com']), old, T));
    assert.ok(!isRenewalOf(cert('c', -400, 1, ['shop.example.com']), old, T), 'issued before the expired one');
    assert.ok(!isRenewalOf({ ...cert('d', -10, 355, ['shop.example.com']), firstSeenMs: T + 60_000 }, old, T), 'observed after the onset');
    assert.ok(!isRenewalOf({ ...cert('e', -10, 355, ['shop.example.com']), isCA: true }, old, T), 'a CA does not renew a leaf');
  });

  it('a renewal supersedes a copy only where the endpoints serve it', () => {
    const old = cert('a', -365, 0, ['shop.example.com']);
    const renewed = cert('b', -10, 355, ['shop.example.com']);
    const served = new Map([[renewed.sha256, T]]);
    const lastServed = (c: CertIdentity) => served.get(c.sha256) ?? -Infinity;
    assert.ok(supersedes(renewed, old, lastServed, T));
    served.set(old.sha256, T + 1);
    assert.ok(!supersedes(renewed, old, lastServed, T), 'the old one is served more recently');
    assert.ok(!supersedes(renewed, old, () => -Infinity, T), 'never served');
  });
});

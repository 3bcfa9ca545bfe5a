import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { makeCert } from './make.ts';
import { linkIssuers, parseCertificates } from './x509.ts';

const d = (iso: string) => new Date(iso);
const root = await makeCert({ subject: 'CN=Test Root', isCA: true, notBefore: d('2019-01-01T00:00:00Z'), notAfter: d('2030-01-01T00:00:00Z') });
const leaf = await makeCert({ subject: 'CN=teams.example.com', dnsNames: ['teams.example.com', '*.teams.example.com'], issuer: root, notBefore: d('2019-02-03T13:31:00Z'), notAfter: d('2020-02-03T13:31:00Z') });
const bytes = (s: string | Uint8Array) => (typeof s === 'string' ? new TextEncoder().encode(s) : s);

describe('certificate parsing', () => {
  it('reads a PEM bundle with keys and comments around it, with facts equal to OpenSSL\'s', () => {
    const text = `# bundle\n${leaf.pem}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n${root.pem}`;
    const { certs, errors } = parseCertificates(bytes(text));
    assert.deepEqual(errors, []);
    assert.equal(certs.length, 2);
    const [l, r] = certs as [typeof certs[0], typeof certs[0]];
    const node = new X509Certificate(leaf.pem);
    assert.equal(l.facts.sha256, node.fingerprint256.replace(/:/g, '').toLowerCase());
    assert.equal(l.facts.notAfter, '2020-02-03T13:31:00.000Z');
    assert.deepEqual(l.facts.dnsNames, ['teams.example.com', '*.teams.example.com']);
    assert.equal(l.facts.isCA, false);
    assert.equal(r.facts.isCA, true);
    assert.equal(l.line, 2);
    linkIssuers(certs);
    assert.equal(l.facts.issuerSha256, r.facts.sha256);
    assert.equal(r.facts.issuerSha256, undefined);
  });

  it('reads DER', () => {
    const { certs, errors } = parseCertificates(new Uint8Array(leaf.cert.rawData));
    assert.deepEqual(errors, []);
    assert.equal(certs[0]!.facts.subject, 'CN=teams.example.com');
  });

  it('reports each broken input with its line and a clear reason, keeping the good certificates', () => {
    const truncated = leaf.pem.split('\n').slice(0, 4).join('\n');
    const cases: [string, Uint8Array, string][] = [
      ['not a certificate', bytes('hello world\n'), 'not a certificate: no PEM block and not DER'],
      ['empty', bytes(''), 'empty file'],
      ['bad base64', bytes('-----BEGIN CERTIFICATE-----\n@@@@not base64@@@@\n-----END CERTIFICATE-----\n'), 'bad base64 in the PEM body'],
      ['DER with trailing garbage', new Uint8Array([...new Uint8Array(leaf.cert.rawData), 1, 2, 3]), 'DER has 3 bytes of trailing garbage'],
      ['garbage DER', new Uint8Array([0x30, 0x03, 0x01, 0x01, 0xff]), 'not a valid X.509 certificate'],
    ];
    for (const [what, input, message] of cases) {
      const { certs, errors } = parseCertificates(input);
      assert.equal(certs.length, 0, what);
      assert.equal(errors.length, 1, what);
      assert.ok(errors[0]!.message.startsWith(message), `${what}: ${errors[0]!.message}`);
    }
    const mixed = parseCertificates(bytes(`${root.pem}\n${truncated}`));
    assert.equal(mixed.certs.length, 1);
    assert.deepEqual(mixed.errors.map((e) => [e.line, e.message]), [[`${root.pem}\n`.split('\n').length, 'truncated PEM: "BEGIN CERTIFICATE" has no matching END line']]);
  });
});

/**
 * The certificate scanner on damaged files: PEM, DER, PKCS#7, JWKS and Kubernetes secrets with
 * bytes flipped, cut, inserted or duplicated. It never throws; every problem names the file; every
 * observation it still makes satisfies the CertObservation contract.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { check } from '../../schemas/decode.ts';
import { makeCert } from '../../lib/certs/make.ts';
import { scanCertDir } from '../../lib/certs/scan.ts';
import { x509 } from '../../lib/certs/x509.ts';
import { mutatedBytes } from './arbitraries.ts';
import { runs } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'outage-scan-prop-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TS = '2020-02-03T00:00:00.000Z';

describe('certificate scanner, property-based', () => {
  let files: { name: string; bytes: Buffer }[] = [];
  before(async () => {
    const root = await makeCert({ subject: 'CN=Prop Root', isCA: true, notBefore: new Date('2015-01-01T00:00:00Z'), notAfter: new Date('2035-01-01T00:00:00Z') });
    const leaf = await makeCert({ subject: 'CN=prop.example.test', dnsNames: ['prop.example.test'], issuer: root, notBefore: new Date('2019-06-01T00:00:00Z'), notAfter: new Date('2021-06-01T00:00:00Z') });
    const der = Buffer.from(new Uint8Array(leaf.cert.rawData));
    const b64 = (b: string | Uint8Array) => Buffer.from(b).toString('base64');
    files = [
      { name: 'bundle.pem', bytes: Buffer.from(leaf.pem + root.pem) },
      { name: 'leaf.der', bytes: der },
      { name: 'chain.p7b', bytes: Buffer.from(new x509.X509Certificates([leaf.cert, root.cert]).export('raw')) },
      { name: 'jwks.json', bytes: Buffer.from(JSON.stringify({ keys: [{ kid: 'k1', x5c: [b64(der), b64(new Uint8Array(root.cert.rawData))] }] })) },
      { name: 'secret.yaml', bytes: Buffer.from(stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls', namespace: 'prod' }, data: { 'tls.crt': b64(leaf.pem) } })) },
      { name: 'ct.json', bytes: Buffer.from(JSON.stringify([{ id: 1, issuer_name: 'CN=CA', common_name: 'prop.example.test', name_value: 'prop.example.test', not_before: '2019-11-01T00:00:00', not_after: '2020-02-01T00:00:00', serial_number: '04AB' }])) },
    ];
  });

  it('damaged certificate files: never a throw, every problem names the file, every observation valid', async () => {
    const damaged = fc.integer({ min: 0, max: 5 }).chain((i) => fc.tuple(fc.constant(files[i]!.name), mutatedBytes(files[i]!.bytes, 6)));
    await fc.assert(
      fc.asyncProperty(damaged, async ([name, bytes]) => {
        const path = join(dir, name);
        writeFileSync(path, bytes);
        const r = await scanCertDir(path, TS, dir);
        rmSync(path);
        for (const e of r.errors) {
          assert.equal(e.file, name);
          assert.ok(Number.isInteger(e.line) && e.line >= 0);
          assert.ok(e.message.length > 0);
        }
        for (const o of r.observations) assert.ok(check('CertObservation', o).ok, JSON.stringify(o));
      }),
      runs(),
    );
  });
});

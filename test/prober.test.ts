/**
 * The prober against real local TLS servers serving certificates generated here, one per way a
 * certificate goes wrong. Each check must fail (or pass) with the right Node/OpenSSL code and
 * still report the chain it was shown, with leaf expiry, earliest chain expiry and notBefore.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeCert, privateKeyPem, type Issued } from '../lib/certs/make.ts';
import { factsOf } from '../lib/certs/x509.ts';
import { runProbe, specFor } from '../services/prober/probes/index.ts';
import { check } from '../schemas/decode.ts';

const DAY = 86_400_000;
const now = Date.now();
const at = (days: number) => new Date(now + days * DAY);
const HOST = 'teams.example.test';

let root: Issued;
let intermediate: Issued;
const servers: Server[] = [];

/** An HTTPS server on 127.0.0.1 presenting `chain` (leaf first) with the leaf's key. */
async function serve(chain: Issued[], status = 200): Promise<number> {
  const server = createHttpsServer({ key: await privateKeyPem(chain[0]!), cert: chain.map((c) => c.pem).join('') }, (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'service is up' : 'down');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

const leaf = (opts: { names?: string[]; from?: number; to?: number; issuer?: Issued } = {}) =>
  makeCert({ subject: `CN=${(opts.names ?? [HOST])[0]}`, dnsNames: opts.names ?? [HOST], issuer: opts.issuer ?? intermediate, notBefore: at(opts.from ?? -30), notAfter: at(opts.to ?? 60) });

async function probe(port: number, kind: 'https' | 'tls' = 'https') {
  const target = kind === 'https' ? `https://${HOST}:${port}/health` : `tls://${HOST}:${port}`;
  const out = await runProbe(specFor(target, 'teams', { ipOverride: '127.0.0.1', ca: root.pem, timeoutMs: 5000, region: 'test' }));
  const valid = check('ProbeResult', out.result);
  assert.ok(valid.ok, `not a valid ProbeResult: ${!valid.ok && valid.detail}`);
  return out;
}

describe('prober against real TLS servers', () => {
  before(async () => {
    root = await makeCert({ subject: 'CN=Test Root CA', isCA: true, notBefore: at(-3650), notAfter: at(3650) });
    intermediate = await makeCert({ subject: 'CN=Test Intermediate CA', isCA: true, issuer: root, notBefore: at(-365), notAfter: at(365) });
  });
  after(() => {
    for (const s of servers) s.close();
  });

  it('a valid chain: up, with status, phases and the presented chain', async () => {
    const l = await leaf();
    const { result, chain } = await probe(await serve([l, intermediate]));
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.equal(result.httpStatus, 200);
    assert.ok(result.phases!.tlsMs! >= 0 && result.phases!.ttfbMs! >= result.phases!.tlsMs!);
    assert.equal(result.tls!.leafSha256, factsOf(l.cert).sha256);
    assert.deepEqual(chain.slice(0, 2).map((c) => c.sha256), [factsOf(l.cert).sha256, factsOf(intermediate.cert).sha256]);
    assert.equal(chain[0]!.issuerSha256, factsOf(intermediate.cert).sha256);
    assert.equal(result.tls!.protocol, 'TLSv1.3');
  });

  it('an expired leaf: CERT_HAS_EXPIRED, with its expiry and the chain still reported', async () => {
    const l = await leaf({ from: -400, to: -2 });
    const { result, chain } = await probe(await serve([l, intermediate]));
    assert.equal(result.ok, false);
    assert.equal(result.error!.code, 'CERT_HAS_EXPIRED');
    assert.match(result.error!.message, /^leaf certificate expired at /);
    assert.equal(result.tls!.validTo, l.cert.notAfter.toISOString());
    assert.equal(result.tls!.chainValidTo, l.cert.notAfter.toISOString());
    assert.equal(chain[0]!.sha256, factsOf(l.cert).sha256);
  });

  it('a leaf not yet valid (clock skew, early deployment): CERT_NOT_YET_VALID with its notBefore', async () => {
    const l = await leaf({ from: 2, to: 90 });
    const { result } = await probe(await serve([l, intermediate]));
    assert.equal(result.error!.code, 'CERT_NOT_YET_VALID');
    assert.equal(result.tls!.validFrom, l.cert.notBefore.toISOString());
  });

  it('a certificate for another host: ERR_TLS_CERT_ALTNAME_INVALID', async () => {
    const { result } = await probe(await serve([await leaf({ names: ['other.example.test'] }), intermediate]));
    assert.equal(result.error!.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.match(result.error!.message, /teams\.example\.test/);
  });

  it('a self-signed leaf: DEPTH_ZERO_SELF_SIGNED_CERT', async () => {
    const self = await makeCert({ subject: `CN=${HOST}`, dnsNames: [HOST], notBefore: at(-1), notAfter: at(30) });
    const { result, chain } = await probe(await serve([self]));
    assert.equal(result.error!.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(chain.length, 1);
  });

  it('an expired intermediate under a valid root: CERT_HAS_EXPIRED naming the intermediate; the leaf is still valid', async () => {
    const oldCa = await makeCert({ subject: 'CN=Old Intermediate CA', isCA: true, issuer: root, notBefore: at(-800), notAfter: at(-1) });
    const l = await leaf({ issuer: oldCa, from: -30, to: 300 });
    const { result, chain } = await probe(await serve([l, oldCa]));
    assert.equal(result.error!.code, 'CERT_HAS_EXPIRED');
    assert.match(result.error!.message, /Old Intermediate CA/);
    assert.equal(result.tls!.validTo, l.cert.notAfter.toISOString());
    assert.equal(result.tls!.chainValidTo, oldCa.cert.notAfter.toISOString());
    assert.ok(chain.some((c) => c.sha256 === factsOf(oldCa.cert).sha256 && c.isCA));
  });

  it('an incomplete chain (intermediate not sent): the issuer cannot be found', async () => {
    const l = await leaf();
    const { result, chain } = await probe(await serve([l]));
    assert.equal(result.ok, false);
    assert.ok(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'].includes(result.error!.code), result.error!.code);
    assert.equal(chain.length, 1);
  });

  it('a TLS-only check sees the same, and HTTP errors are classed by status', async () => {
    const expired = await probe(await serve([await leaf({ from: -400, to: -2 }), intermediate]), 'tls');
    assert.equal(expired.result.error!.code, 'CERT_HAS_EXPIRED');
    assert.equal(expired.result.httpStatus, undefined);
    const down = await probe(await serve([await leaf(), intermediate], 503));
    assert.deepEqual([down.result.ok, down.result.httpStatus, down.result.error!.code], [false, 503, 'HTTP_503']);
  });

  it('TCP and DNS checks: refused, resolved, not found', async () => {
    const tcp = createTcpServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as { port: number }).port;
    tcp.close();
    await new Promise((r) => tcp.once('close', r));
    const refused = await runProbe(specFor(`tcp://127.0.0.1:${port}`, 'teams', { timeoutMs: 2000 }));
    assert.equal(refused.result.error!.code, 'ECONNREFUSED');
    const resolved = await runProbe(specFor('dns://localhost', 'teams', { timeoutMs: 2000 }));
    assert.equal(resolved.result.ok, true);
    const missing = await runProbe(specFor('dns://nonexistent.invalid', 'teams', { timeoutMs: 2000 }));
    assert.equal(missing.result.error!.code, 'ENOTFOUND');
  });
});

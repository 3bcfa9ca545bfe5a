/**
 * Certificate facts as small pure functions, shared by the inventory, the prober and the example
 * generator: parse PEM/DER, fingerprint, the fields of a CertObservation, chain links.
 *
 * `@peculiar/x509` needs a Reflect polyfill before it loads and a WebCrypto provider.
 */
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { CertObservation } from '../../schemas/contracts.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

export type CertFacts = Omit<CertObservation, 'ts' | 'source'>;

export interface ParsedCert {
  cert: x509.X509Certificate;
  facts: CertFacts;
  /** 1-based line of the PEM block (1 for DER). */
  line: number;
  subjectKeyId?: string;
  authorityKeyId?: string;
}

export interface ParseError {
  line: number;
  message: string;
}

/** Lowercase hex SHA-256 of the DER, as every contract carries it. */
export function sha256Hex(der: ArrayBuffer | Uint8Array): string {
  return createHash('sha256').update(der instanceof Uint8Array ? der : new Uint8Array(der)).digest('hex');
}

/** The subject and authority key identifiers, which link a certificate to its issuer. */
export function keyIdsOf(cert: x509.X509Certificate): { subjectKeyId?: string; authorityKeyId?: string } {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  return { ...(ski ? { subjectKeyId: ski } : {}), ...(aki ? { authorityKeyId: aki } : {}) };
}

/** The fields of a CertObservation that the certificate itself carries. */
export function factsOf(cert: x509.X509Certificate): CertFacts {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const dnsNames = san ? san.names.items.filter((n) => n.type === 'dns').map((n) => n.value) : [];
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  return {
    sha256: sha256Hex(cert.rawData),
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    dnsNames,
    isCA: bc?.ca ?? false,
  };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)(-----END \1-----|$)/g;

/**
 * Parses a file that holds PEM blocks (any number, other block types ignored) or one DER
 * certificate. Bad blocks become errors with their line; the rest of the file still counts.
 */
export function parseCertificates(bytes: Uint8Array): { certs: ParsedCert[]; errors: ParseError[] } {
  const certs: ParsedCert[] = [];
  const errors: ParseError[] = [];
  const text = Buffer.from(bytes).toString('latin1');
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length;
  let sawPem = false;
  const otherBlocks = new Set<string>();
  for (const m of text.matchAll(PEM_BLOCK)) {
    sawPem = true;
    const line = lineAt(m.index ?? 0);
    if (!m[3]) {
      errors.push({ line, message: `truncated PEM: "BEGIN ${m[1]}" has no matching END line` });
      continue;
    }
    const kind = m[1]!;
    if (kind !== 'CERTIFICATE' && kind !== 'TRUSTED CERTIFICATE' && kind !== 'PKCS7' && kind !== 'CMS') {
      otherBlocks.add(kind);
      continue;
    }
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
      errors.push({ line, message: 'bad base64 in the PEM body' });
      continue;
    }
    const der = Buffer.from(body, 'base64');
    if (kind === 'PKCS7' || kind === 'CMS') pushPkcs7(der, line, certs, errors);
    else pushDer(der, line, certs, errors);
  }
  if (sawPem && certs.length === 0 && errors.length === 0) {
    errors.push({ line: 1, message: `no certificate in the file (it holds ${[...otherBlocks].join(', ')})` });
  }
  if (!sawPem) {
    if (bytes.length === 0) errors.push({ line: 1, message: 'empty file' });
    else if (bytes[0] !== 0x30) errors.push({ line: 1, message: 'not a certificate: no PEM block and not DER' });
    else if (isPkcs7(bytes)) pushPkcs7(bytes, 1, certs, errors);
    else pushDer(bytes, 1, certs, errors);
  }
  return { certs, errors };
}

/** PKCS#7 (CMS) signedData: SEQUENCE { OID 1.2.840.113549.1.7.2, … }. */
function isPkcs7(der: Uint8Array): boolean {
  const oid = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);
  return Buffer.from(der.subarray(0, 24)).includes(oid);
}

function pushPkcs7(der: Uint8Array, line: number, certs: ParsedCert[], errors: ParseError[]): void {
  let all: x509.X509Certificates;
  try {
    all = new x509.X509Certificates(der);
  } catch (err) {
    errors.push({ line, message: `not a valid PKCS#7 certificate bundle: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  if (all.length === 0) errors.push({ line, message: 'PKCS#7 bundle holds no certificates' });
  for (const cert of all) pushDer(new Uint8Array(cert.rawData), line, certs, errors);
}

/** Length of the outer DER element (tag, length, contents), or undefined if the header is bad. */
function derLength(der: Uint8Array): number | undefined {
  const first = der[1];
  if (der[0] !== 0x30 || first === undefined) return undefined;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || der.length < 2 + n) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
  return 2 + n + len;
}

function pushDer(der: Uint8Array, line: number, certs: ParsedCert[], errors: ParseError[]): void {
  // The parser accepts bytes after the certificate; a file with them is damaged, so say so.
  const length = derLength(der);
  if (length !== undefined && length < der.byteLength) {
    errors.push({ line, message: `DER has ${der.byteLength - length} bytes of trailing garbage` });
    return;
  }
  try {
    const cert = new x509.X509Certificate(der);
    certs.push({ cert, facts: factsOf(cert), line, ...keyIdsOf(cert) });
  } catch (err) {
    errors.push({ line, message: `not a valid X.509 certificate: ${(err as Error).message.split('\n')[0]}` });
  }
}

/**
 * Links each certificate to its issuer among `certs` (issuer DN = subject DN, and key ids agree
 * when both are present), setting `issuerSha256`. Self-signed roots link to nothing.
 */
export function linkIssuers(certs: ParsedCert[]): void {
  for (const c of certs) {
    if (c.facts.subject === c.facts.issuer && (!c.authorityKeyId || c.authorityKeyId === c.subjectKeyId)) continue;
    const issuer = certs.find(
      (i) =>
        i !== c &&
        i.facts.subject === c.facts.issuer &&
        (!c.authorityKeyId || !i.subjectKeyId || c.authorityKeyId === i.subjectKeyId),
    );
    if (issuer) c.facts.issuerSha256 = issuer.facts.sha256;
  }
}

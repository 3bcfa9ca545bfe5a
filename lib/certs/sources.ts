/**
 * Certificates from every kind of file an inventory meets, recognised by content:
 *
 * - PEM bundles (any number of certificates; keys and other blocks ignored), DER, PKCS#7 (.p7b,
 *   PEM or DER);
 * - JWKS documents whose keys carry `x5c` chains (how sign-in token-signing certificates are
 *   published);
 * - Kubernetes TLS secrets as `kubectl get secret -o json|yaml` prints them, lists included;
 *   kubeconfig files (cluster CAs and client certificates);
 * - PKCS#12 stores (.p12/.pfx) with a configured password (pkijs; @peculiar/x509 cannot read them);
 * - CT search results in the common JSON form (crt.sh): no DER there, so the fingerprint is of
 *   the entry (see `ctEntry`).
 *
 * Every problem becomes an error with its line (or 0 for the whole file); nothing throws.
 */
import { createHash, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { parseAllDocuments } from 'yaml';
import type { CertObservation } from '../../schemas/contracts.ts';
import { parseCertificates, type ParsedCert, type ParseError } from './x509.ts';

pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as never }));

/** A certificate found in a file, with where inside it (`endpoint`) and a label when the format has one. */
export interface FoundCert {
  cert: ParsedCert;
  /** Overrides the file path as the observation's endpoint, e.g. `namespace/secret`. */
  endpoint?: string;
  name?: string;
  source?: CertObservation['source'];
}

/** CT entries have no DER; they become observations directly. */
export interface FoundFacts {
  facts: Omit<CertObservation, 'ts'>;
}

export interface FileParse {
  found: FoundCert[];
  ctFacts: FoundFacts[];
  errors: ParseError[];
}

export interface SourceOptions {
  /** PKCS#12 passwords by file name (base name) or `*` for any. */
  p12Passwords?: Record<string, string>;
}

const b64 = (s: string) => Buffer.from(s, 'base64');

function fromPemOrDer(bytes: Uint8Array, where: Omit<FoundCert, 'cert'>, out: FileParse, lineBase = 0): void {
  const { certs, errors } = parseCertificates(bytes);
  for (const e of errors) out.errors.push({ line: lineBase + e.line, message: `${where.endpoint ? `${where.endpoint}: ` : ''}${e.message}` });
  certs.forEach((cert, i) => out.found.push({ cert, ...where, ...(where.name && i > 0 ? { name: `${where.name}#${i + 1}` } : {}) }));
}

/** JWKS: `{ keys: [{ kid, x5c: [base64 DER, …] }] }`. */
function jwks(doc: { keys: unknown[] }, out: FileParse): void {
  doc.keys.forEach((k, i) => {
    const key = k as { kid?: string; x5c?: unknown };
    if (!Array.isArray(key.x5c)) return;
    key.x5c.forEach((c, j) => {
      if (typeof c !== 'string') return out.errors.push({ line: 0, message: `keys[${i}].x5c[${j}] is not a base64 string` });
      fromPemOrDer(b64(c), { endpoint: `jwks#${key.kid ?? i}`, name: `${key.kid ?? `key-${i}`}${j > 0 ? `#chain${j}` : ''}`, source: 'jwks' }, out);
    });
  });
}

interface K8sObject {
  kind?: string;
  type?: string;
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
  items?: K8sObject[];
  clusters?: { name?: string; cluster?: Record<string, string> }[];
  users?: { name?: string; user?: Record<string, string> }[];
}

/** Kubernetes objects: Secrets (TLS or any with *.crt data), Lists of them, kubeconfig. */
function k8s(obj: K8sObject, out: FileParse): boolean {
  if (obj.kind === 'List' && Array.isArray(obj.items)) {
    for (const item of obj.items) k8s(item, out);
    return true;
  }
  if (obj.kind === 'Secret') {
    const place = `${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? '?'}`;
    for (const [key, value] of Object.entries(obj.data ?? {})) {
      if (!/(\.crt|\.pem|ca\.crt)$/.test(key)) continue;
      fromPemOrDer(b64(value), { endpoint: `${place}:${key}`, name: `${place}:${key}`, source: 'k8s' }, out);
    }
    return true;
  }
  if (obj.kind === 'Config' && (obj.clusters || obj.users)) {
    for (const c of obj.clusters ?? []) {
      const data = c.cluster?.['certificate-authority-data'];
      if (data) fromPemOrDer(b64(data), { endpoint: `kubeconfig/cluster/${c.name}`, name: `cluster ${c.name} CA`, source: 'k8s' }, out);
    }
    for (const u of obj.users ?? []) {
      const data = u.user?.['client-certificate-data'];
      if (data) fromPemOrDer(b64(data), { endpoint: `kubeconfig/user/${u.name}`, name: `user ${u.name} client certificate`, source: 'k8s' }, out);
    }
    return true;
  }
  return false;
}

interface CtRow {
  id?: number;
  issuer_name?: string;
  common_name?: string;
  name_value?: string;
  not_before?: string;
  not_after?: string;
  serial_number?: string;
}

const ctTime = (s: string) => new Date(/Z|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`).toISOString();

/**
 * A CT search result row. It carries no DER, so `sha256` is the SHA-256 of
 * `ct:<issuer>:<serial>` (stable for the same certificate across searches), and `name` says so.
 */
export function ctEntry(row: CtRow): Omit<CertObservation, 'ts'> {
  const names = [...new Set([row.common_name ?? '', ...(row.name_value ?? '').split('\n')].map((n) => n.trim().toLowerCase()).filter(Boolean))];
  return {
    source: 'ct',
    sha256: createHash('sha256').update(`ct:${row.issuer_name}:${(row.serial_number ?? '').toLowerCase()}`).digest('hex'),
    subject: `CN=${row.common_name ?? names[0] ?? ''}`,
    issuer: row.issuer_name ?? '',
    serial: (row.serial_number ?? '').toLowerCase(),
    notBefore: ctTime(row.not_before!),
    notAfter: ctTime(row.not_after!),
    dnsNames: names,
    isCA: false,
    name: `ct entry ${row.id ?? '?'} (no DER in CT search results)`,
  };
}

function ct(rows: CtRow[], out: FileParse): void {
  rows.forEach((row, i) => {
    if (!row.not_before || !row.not_after || !row.serial_number || Number.isNaN(Date.parse(ctTime(row.not_after)))) {
      out.errors.push({ line: 0, message: `CT result [${i}] lacks serial_number, not_before or not_after` });
      return;
    }
    out.ctFacts.push({ facts: ctEntry(row) });
  });
}

async function pkcs12(bytes: Uint8Array, password: string | undefined, out: FileParse): Promise<void> {
  if (password === undefined) {
    out.errors.push({ line: 0, message: 'PKCS#12 store, but no password is configured for it (CERT_P12_PASSWORDS)' });
    return;
  }
  try {
    const asn = asn1js.fromBER(new Uint8Array(bytes).buffer);
    if (asn.offset === -1) throw new Error('not DER');
    const pfx = new pkijs.PFX({ schema: asn.result });
    const pw = new TextEncoder().encode(password).buffer;
    await pfx.parseInternalValues({ password: pw, checkIntegrity: true });
    const safes = (pfx.parsedValue as { authenticatedSafe?: pkijs.AuthenticatedSafe }).authenticatedSafe!;
    await safes.parseInternalValues({ safeContents: safes.safeContents.map(() => ({ password: pw })) });
    for (const sc of safes.parsedValue!.safeContents) {
      for (const bag of sc.value.safeBags) {
        if (bag.bagId !== '1.2.840.113549.1.12.10.1.3') continue; // certBag
        const cert = (bag.bagValue as pkijs.CertBag).parsedValue as pkijs.Certificate;
        fromPemOrDer(new Uint8Array(cert.toSchema().toBER()), {}, out);
      }
    }
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    out.errors.push({ line: 0, message: /integrity|mac|password|decrypt/i.test(msg) ? `PKCS#12: wrong password or damaged store (${msg})` : `not a readable PKCS#12 store: ${msg}` });
  }
}

const isP12 = (name: string) => /\.(p12|pfx)$/i.test(name);

/**
 * Reads one file's certificates, whatever its format.
 *
 * @example
 * const { found, errors } = await parseCertFile('secrets.yaml', readFileSync('secrets.yaml'));
 */
export async function parseCertFile(name: string, bytes: Uint8Array, opts: SourceOptions = {}): Promise<FileParse> {
  const out: FileParse = { found: [], ctFacts: [], errors: [] };
  if (isP12(name)) {
    const base = name.split('/').pop()!;
    await pkcs12(bytes, opts.p12Passwords?.[base] ?? opts.p12Passwords?.['*'], out);
    return out;
  }
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('utf8').trimStart();
  if (head.startsWith('{') || head.startsWith('[')) {
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (err) {
      out.errors.push({ line: 0, message: `not valid JSON: ${(err as Error).message}` });
      return out;
    }
    if (Array.isArray(doc)) ct(doc as CtRow[], out);
    else if (doc && typeof doc === 'object' && Array.isArray((doc as { keys?: unknown }).keys)) jwks(doc as { keys: unknown[] }, out);
    else if (!k8s(doc as K8sObject, out)) out.errors.push({ line: 0, message: 'JSON, but not a JWKS, a Kubernetes object or CT search results' });
    return out;
  }
  if (/^(apiVersion|kind|clusters|---)\b/m.test(head) && !head.startsWith('-----BEGIN')) {
    for (const d of parseAllDocuments(Buffer.from(bytes).toString('utf8'))) {
      if (d.errors[0]) {
        out.errors.push({ line: d.errors[0].linePos?.[0]?.line ?? 0, message: `YAML: ${d.errors[0].message.split('\n')[0]}` });
        continue;
      }
      const obj = d.toJS() as K8sObject | null;
      if (obj && !k8s(obj, out)) out.errors.push({ line: 0, message: `YAML document of kind ${obj.kind ?? '?'} holds no certificates` });
    }
    return out;
  }
  fromPemOrDer(bytes, {}, out);
  return out;
}

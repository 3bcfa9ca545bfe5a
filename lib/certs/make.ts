/**
 * Making real X.509 certificates with `@peculiar/x509` (ECDSA P-256): for the bundled examples,
 * the tests' TLS servers and fixtures. Validity may lie in the past or the future on purpose.
 */
import { webcrypto } from 'node:crypto';
import { x509 } from './x509.ts';

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  /** PEM with a trailing newline (OpenSSL rejects joined PEMs without one). */
  pem: string;
}

type CryptoKeyPair = webcrypto.CryptoKeyPair;
/** The key type @peculiar/x509 declares (the DOM's CryptoKey, which Node's webcrypto keys are). */
type Key = Parameters<typeof x509.SubjectKeyIdentifierExtension.create>[0];
type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

export interface CertSpec {
  /** Distinguished name, e.g. `CN=teams.microsoft.com, O=Example`. */
  subject: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames?: string[];
  isCA?: boolean;
  /** Issuer; self-signed when absent. */
  issuer?: Issued;
  serial?: string;
  /** Extended key usages (OIDs); server auth by default for leaves. */
  extendedKeyUsages?: string[];
}

let serialCounter = 1;

/**
 * @example
 * const root = await makeCert({ subject: 'CN=Test Root', isCA: true, notBefore, notAfter });
 * const leaf = await makeCert({ subject: 'CN=a.test', dnsNames: ['a.test'], issuer: root, notBefore, notAfter });
 */
export async function makeCert(spec: CertSpec): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as KeyPair;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(!!spec.isCA, undefined, true),
    new x509.KeyUsagesExtension(
      spec.isCA ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as Key),
  ];
  if (spec.issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(spec.issuer.keys.publicKey as Key));
  if (spec.dnsNames?.length) extensions.push(new x509.SubjectAlternativeNameExtension(spec.dnsNames.map((value) => ({ type: 'dns' as const, value }))));
  if (!spec.isCA) extensions.push(new x509.ExtendedKeyUsageExtension(spec.extendedKeyUsages ?? ['1.3.6.1.5.5.7.3.1']));
  const serialNumber = spec.serial ?? (serialCounter++).toString(16).padStart(16, '0');
  const cert = spec.issuer
    ? await x509.X509CertificateGenerator.create({
        serialNumber,
        subject: spec.subject,
        issuer: spec.issuer.cert.subject,
        notBefore: spec.notBefore,
        notAfter: spec.notAfter,
        signingAlgorithm: alg,
        publicKey: keys.publicKey as Key,
        signingKey: spec.issuer.keys.privateKey as Key,
        extensions,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber,
        name: spec.subject,
        notBefore: spec.notBefore,
        notAfter: spec.notAfter,
        signingAlgorithm: alg,
        keys: keys as unknown as KeyPair,
        extensions,
      });
  return { cert, keys, pem: `${cert.toString('pem')}\n` };
}

/** The private key as PKCS#8 PEM, for a TLS server. */
export async function privateKeyPem(issued: Issued): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', issued.keys.privateKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

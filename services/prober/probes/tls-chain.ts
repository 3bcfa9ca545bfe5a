/**
 * What a TLS handshake showed, verified by us: the presented chain as certificate facts, the
 * OpenSSL verdict, the host name check, and the expiry facts that the well-known prober loses
 * when verification fails (leaf expiry, earliest expiry in the chain, notBefore).
 *
 * The socket is opened with `rejectUnauthorized: false` so the chain is always captured; Node
 * reports the OpenSSL verdict in `authorizationError`, and runs the host name check only for
 * verified chains, so `tls.checkServerIdentity` is called here in every case.
 */
import { checkServerIdentity, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import type { ProbeResult } from '../../../schemas/contracts.ts';
import { commonName, earliestExpiry } from '../../../lib/certs/facts.ts';
import { factsOf, x509, type CertFacts } from '../../../lib/certs/x509.ts';

export interface TlsInspection {
  tls: NonNullable<ProbeResult['tls']>;
  chain: CertFacts[];
  /** The first problem, classified with the Node/OpenSSL code; absent when the chain is good. */
  error?: { code: string; message: string };
}

/** The chain as presented, leaf first, from Node's detailed peer certificate (cycles cut at the root). */
function presentedChain(socket: TLSSocket): CertFacts[] {
  const out: CertFacts[] = [];
  const seen = new Set<string>();
  let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (c && c.raw && out.length < 16) {
    const facts = factsOf(new x509.X509Certificate(c.raw));
    if (seen.has(facts.sha256)) break;
    seen.add(facts.sha256);
    out.push(facts);
    c = c.issuerCertificate;
  }
  for (let i = 0; i + 1 < out.length; i++) out[i]!.issuerSha256 = out[i + 1]!.sha256;
  return out;
}

const cn = (dn: string) => commonName(dn) ?? dn;

/**
 * @param host the name the client asked for (SNI and host name check)
 * @param nowMs the prober's clock, for the expiry facts in messages
 */
export function inspectTls(socket: TLSSocket, host: string, nowMs: number): TlsInspection {
  const chain = presentedChain(socket);
  const leaf = chain[0];
  const cipher = socket.getCipher();
  const tls: NonNullable<ProbeResult['tls']> = {
    ...(socket.getProtocol() ? { protocol: socket.getProtocol()! } : {}),
    ...(cipher?.standardName ? { cipher: cipher.standardName } : {}),
    ...(leaf ? { leafSha256: leaf.sha256, chainSha256: chain.map((c) => c.sha256), validTo: leaf.notAfter, validFrom: leaf.notBefore } : {}),
  };
  const earliest = earliestExpiry(chain);
  if (earliest) tls.chainValidTo = earliest;
  if (!leaf) return { tls, chain, error: { code: 'NO_PEER_CERTIFICATE', message: 'the server presented no certificate' } };

  const verdict = socket.authorized ? undefined : String((socket.authorizationError as unknown as { code?: string })?.code ?? socket.authorizationError);
  const hostError = checkServerIdentity(host, socket.getPeerCertificate());
  let error: TlsInspection['error'];
  if (verdict === 'CERT_HAS_EXPIRED') {
    // OpenSSL says "a certificate in the chain expired"; say which one.
    const expired = chain.find((c) => Date.parse(c.notAfter) <= nowMs) ?? leaf;
    const which = expired === leaf ? 'leaf certificate' : `${expired.isCA ? 'CA' : 'chain'} certificate ${cn(expired.subject)} in the chain`;
    error = { code: 'CERT_HAS_EXPIRED', message: `${which} expired at ${expired.notAfter} (sha256 ${expired.sha256.slice(0, 16)}…)` };
  } else if (verdict === 'CERT_NOT_YET_VALID') {
    const early = chain.find((c) => Date.parse(c.notBefore) > nowMs) ?? leaf;
    error = { code: 'CERT_NOT_YET_VALID', message: `${early === leaf ? 'leaf certificate' : `certificate ${cn(early.subject)} in the chain`} is not valid before ${early.notBefore}` };
  } else if (verdict) {
    error = { code: verdict, message: `${verdict.toLowerCase().replace(/_/g, ' ')} (leaf ${cn(leaf.subject)}, issuer ${cn(leaf.issuer)}, ${chain.length} certificate(s) presented)` };
  } else if (hostError) {
    error = { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: hostError.message };
  }
  // A wrong host on an otherwise bad chain is worth saying too.
  if (error && verdict && hostError) error.message += `; also: ${hostError.message}`;
  return { tls, chain, ...(error ? { error } : {}) };
}

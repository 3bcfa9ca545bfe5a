/**
 * Certificate facts as small pure functions, in one place for the prober, the inventory, the early
 * warnings and the incident hints, so that none of them can decide differently: the subject's CN,
 * the names a certificate is for, days left, the earliest expiry of a chain, and the renewal and
 * supersession rules.
 *
 * Times are milliseconds since the epoch; nothing here reads the clock.
 */
import { hostMatches } from '../catalog.ts';

export const DAY_MS = 86_400_000;

/**
 * The CN of a distinguished name, if it has one.
 *
 * @example commonName('CN=shop.example.com, O=Shop') // 'shop.example.com'
 */
export function commonName(dn: string): string | undefined {
  return /(?:^|[,/+]\s*)CN=([^,+/]+)/.exec(dn)?.[1]?.trim() || undefined;
}

/**
 * Days from `nowMs` to `notAfterMs` (negative once expired), unrounded.
 *
 * @example daysLeft(Date.parse('2020-02-03T13:31:00Z'), Date.parse('2020-02-01T13:31:00Z')) // 2
 */
export function daysLeft(notAfterMs: number, nowMs: number): number {
  return (notAfterMs - nowMs) / DAY_MS;
}

/**
 * The earliest `notAfter` of a chain (ISO), the instant the chain stops working; undefined for an
 * empty chain.
 *
 * @example earliestExpiry([{ notAfter: '2021-06-01T00:00:00.000Z' }, { notAfter: '2020-03-10T13:50:00.000Z' }]) // '2020-03-10T13:50:00.000Z'
 */
export function earliestExpiry(chain: readonly { notAfter: string }[]): string | undefined {
  let best: { notAfter: string; ms: number } | undefined;
  for (const c of chain) {
    const ms = Date.parse(c.notAfter);
    if (!best || ms < best.ms) best = { notAfter: c.notAfter, ms };
  }
  return best?.notAfter;
}

/** What the renewal and supersession rules look at. */
export interface CertIdentity {
  sha256: string;
  subject: string;
  dnsNames: readonly string[];
  notBeforeMs: number;
  notAfterMs: number;
  isCA: boolean;
}

/**
 * The names a certificate is for, lowercased: its SAN DNS names, or its subject CN when it has
 * none (as TLS clients decide, RFC 6125 §6.4.4; an internal signing certificate has only a CN).
 *
 * @example namesOf({ subject: 'CN=Shop, O=Shop', dnsNames: ['shop.example.com'] }) // ['shop.example.com']
 */
export function namesOf(c: Pick<CertIdentity, 'subject' | 'dnsNames'>): string[] {
  if (c.dnsNames.length > 0) return [...new Set(c.dnsNames.map((n) => n.toLowerCase()))];
  const cn = commonName(c.subject);
  return cn ? [cn.toLowerCase()] : [];
}

/**
 * True when `candidate` is for every name of `cert` (exactly or through a wildcard of its own).
 * A certificate without names is covered by nothing: what it was for is unknown.
 *
 * @example coversNames({ subject: '', dnsNames: ['*.example.com'] }, { subject: '', dnsNames: ['a.example.com'] }) // true
 */
export function coversNames(candidate: Pick<CertIdentity, 'subject' | 'dnsNames'>, cert: Pick<CertIdentity, 'subject' | 'dnsNames'>): boolean {
  const want = namesOf(cert);
  if (want.length === 0) return false;
  const have = namesOf(candidate);
  return want.every((n) => have.some((h) => h === n || hostMatches(h, n)));
}

/**
 * The renewal rule: `candidate` renews `cert` when it is of the same kind (CA or not), covers
 * every name of `cert`, is newer (both notBefore and notAfter later) and existed, that is was first
 * observed, by `asOfMs` (an incident's onset; the time of an early warning).
 *
 * @example isRenewalOf({ ...renewed, firstSeenMs: scanMs }, expired, onsetMs) // true
 */
export function isRenewalOf(candidate: CertIdentity & { firstSeenMs: number }, cert: CertIdentity, asOfMs: number): boolean {
  return (
    candidate.sha256 !== cert.sha256 &&
    candidate.isCA === cert.isCA &&
    candidate.notBeforeMs > cert.notBeforeMs &&
    candidate.notAfterMs > cert.notAfterMs &&
    candidate.firstSeenMs <= asOfMs &&
    coversNames(candidate, cert)
  );
}

/**
 * The supersession rule: `candidate` makes `cert` a leftover copy when it renews it and the
 * endpoints served it at least as recently as `cert` (`lastServedMs` is -Infinity for a
 * certificate never served).
 *
 * @example supersedes(current, staleCopy, lastServed, nowMs) // true: the endpoints serve `current`
 */
export function supersedes(
  candidate: CertIdentity & { firstSeenMs: number },
  cert: CertIdentity,
  lastServedMs: (c: CertIdentity) => number,
  asOfMs: number,
): boolean {
  if (!isRenewalOf(candidate, cert, asOfMs)) return false;
  const theirs = lastServedMs(candidate);
  return theirs > -Infinity && theirs >= lastServedMs(cert);
}

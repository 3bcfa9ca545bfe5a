/**
 * Early warnings, without any spike: certificates expiring within the warning horizons, with
 * their blast radius (every service that depends on them through the catalog), and renewals that
 * exist but are not deployed. A certificate with 0 days left or already expired is never silent.
 *
 * Horizons are days before expiry (default 30, 14, 7, 1; per service `certWarnDays`, per
 * certificate `warnDays` in the catalog, which replace the defaults) plus, by default, a share of
 * the lifetime (20 % left), so a 7-day certificate is warned about a day ahead and a 90-day one
 * 18 days ahead.
 */
import type { CertObservation } from '../../schemas/contracts.ts';
import { blastRadius, type Catalog } from '../catalog.ts';
import { commonName, daysLeft as daysUntil, isRenewalOf } from './facts.ts';
import { serviceLinks } from './services.ts';

export interface WarningPolicy {
  days: number[];
  /** Warn when less than this share of the lifetime is left. */
  lifetimeShare: number;
}

export const defaultWarningPolicy: WarningPolicy = { days: [30, 14, 7, 1], lifetimeShare: 0.2 };

export type WarningLevel = 'expired' | 'critical' | 'high' | 'warning' | 'notice';

export interface ExpiryWarning {
  sha256: string;
  name: string;
  subject: string;
  notAfter: string;
  daysLeft: number;
  level: WarningLevel;
  reason: string;
  /** Services the certificate serves directly. */
  services: string[];
  /** Every service that depends on those, transitively, and the services themselves. */
  blastRadius: string[];
  endpoints: string[];
  /** A newer certificate for the same names in the inventory, and whether an endpoint serves it. */
  renewal?: Renewal;
}

function levelOf(daysLeft: number): WarningLevel {
  if (daysLeft <= 0) return 'expired';
  if (daysLeft <= 1) return 'critical';
  if (daysLeft <= 7) return 'high';
  if (daysLeft <= 14) return 'warning';
  return 'notice';
}

/**
 * What a certificate is called: its label in the inventory, else its subject CN, else the start of
 * its fingerprint.
 *
 * @example certName({ name: undefined, subject: 'CN=shop.example.com, O=Shop', sha256: '758a…' }) // 'shop.example.com'
 */
export function certName(o: Pick<CertObservation, 'name' | 'subject' | 'sha256'>): string {
  return o.name ?? commonName(o.subject) ?? o.sha256.slice(0, 12);
}

/** Every service hit when `services` fail (linear in the catalog; see `lib/catalog.ts`). */
export { blastRadius };

/** A newer certificate for the same names, and whether an endpoint serves it. */
export interface Renewal {
  sha256: string;
  notAfter: string;
  /** Deployment is only visible where the prober looks: true when a probe saw it served. */
  deployed: boolean;
}

/**
 * The newest renewal of `cert` in the inventory by the one renewal rule of `facts.ts` (the rule
 * the incident hints use too): of the same kind, for every name of `cert`, newer, and observed by
 * `asOfMs`.
 *
 * @example renewalOf(oldLeaf, observations, nowMs) // { sha256: 'fe2f…', notAfter: '2021-…Z', deployed: true }
 */
export function renewalOf(cert: CertObservation, all: readonly CertObservation[], asOfMs = Infinity): Renewal | undefined {
  // One entry per certificate, first observed at its earliest observation.
  const bySha = new Map<string, { o: CertObservation; firstSeenMs: number }>();
  for (const o of all) {
    const seen = bySha.get(o.sha256);
    if (!seen) bySha.set(o.sha256, { o, firstSeenMs: Date.parse(o.ts) });
    else seen.firstSeenMs = Math.min(seen.firstSeenMs, Date.parse(o.ts));
  }
  const own = identityOf(cert, 0);
  const newer = [...bySha.values()]
    .filter((x) => isRenewalOf(identityOf(x.o, x.firstSeenMs), own, asOfMs))
    .map((x) => x.o)
    .sort((a, b) => Date.parse(b.notAfter) - Date.parse(a.notAfter) || a.sha256.localeCompare(b.sha256))[0];
  if (!newer) return undefined;
  return { sha256: newer.sha256, notAfter: newer.notAfter, deployed: all.some((x) => x.sha256 === newer.sha256 && x.source === 'probe') };
}

const identityOf = (o: CertObservation, firstSeenMs: number) => ({
  sha256: o.sha256,
  subject: o.subject,
  dnsNames: o.dnsNames,
  notBeforeMs: Date.parse(o.notBefore),
  notAfterMs: Date.parse(o.notAfter),
  isCA: o.isCA,
  firstSeenMs,
});

/**
 * @example expiryWarnings(observations, catalog, Date.parse('2020-02-04T00:00:00Z'))
 */
export function expiryWarnings(all: readonly CertObservation[], catalog: Catalog, nowMs: number, policy = defaultWarningPolicy): ExpiryWarning[] {
  const links = serviceLinks(catalog, all);
  const bySha = new Map<string, CertObservation[]>();
  for (const o of all) bySha.set(o.sha256, [...(bySha.get(o.sha256) ?? []), o]);
  const served = (sha: string) => (bySha.get(sha) ?? []).some((o) => o.source === 'probe');

  const out: ExpiryWarning[] = [];
  for (const [sha, obs] of bySha) {
    const o = obs[0]!;
    const notAfter = Date.parse(o.notAfter);
    const lifetime = notAfter - Date.parse(o.notBefore);
    const daysLeft = daysUntil(notAfter, nowMs);
    const services = [...new Set((links.get(sha) ?? []).map((l) => l.service))].sort();
    const svc = catalog.services.filter((s) => services.includes(s.id));
    const certDays = svc.flatMap((s) => (s.certificates ?? []).filter((c) => c.sha256 === sha || obs.some((x) => x.name === c.name)).flatMap((c) => c.warnDays ?? []));
    const serviceDays = svc.flatMap((s) => s.certWarnDays ?? []);
    // An explicit horizon (per certificate, then per service) replaces the defaults and the lifetime rule.
    const overridden = certDays.length > 0 || serviceDays.length > 0;
    const days = certDays.length > 0 ? certDays : serviceDays.length > 0 ? serviceDays : policy.days;
    const horizon = Math.max(...days);
    const share = lifetime > 0 ? (notAfter - nowMs) / lifetime : 0;
    let reason: string | undefined;
    const ago = -daysLeft < 2 ? `${Math.round(-daysLeft * 24)} hours` : `${Math.floor(-daysLeft)} days`;
    if (daysLeft <= 0) reason = `expired ${ago} ago`;
    else if (daysLeft <= horizon) reason = `expires in ${daysLeft < 2 ? `${Math.round(daysLeft * 24)} hours` : `${Math.floor(daysLeft)} days`} (within the ${Math.min(...days.filter((d) => d >= daysLeft))}-day horizon)`;
    else if (!overridden && share < policy.lifetimeShare) reason = `${Math.round(share * 100)} % of its lifetime left`;
    if (!reason) continue;
    // An expired certificate nothing uses is still listed (never silent), at the end.
    const renewal = renewalOf(o, all, nowMs);
    const blast = blastRadius(catalog, services);
    out.push({
      sha256: sha,
      name: certName(o),
      subject: o.subject,
      notAfter: o.notAfter,
      daysLeft: Math.round(daysLeft * 10) / 10,
      level: levelOf(daysLeft),
      reason: [
        reason,
        services.length > 0 ? `serves ${services.join(', ')}` : 'bound to no service',
        ...(blast.length > services.length ? [`blast radius ${blast.join(', ')}`] : []),
        // "Not deployed" only makes sense where deployment is visible: at endpoints the prober sees.
        ...(renewal
          ? [renewal.deployed ? `its renewal ${renewal.sha256.slice(0, 12)}… is served (a leftover copy?)` : served(sha) ? `a renewal ${renewal.sha256.slice(0, 12)}… exists but is not deployed` : `a newer certificate ${renewal.sha256.slice(0, 12)}… exists`]
          : []),
      ].join('; '),
      services,
      blastRadius: blast,
      endpoints: [...new Set(obs.map((x) => x.endpoint ?? x.source))],
      ...(renewal ? { renewal } : {}),
    });
  }
  const rank = { expired: 0, critical: 1, high: 2, warning: 3, notice: 4 };
  return out.sort((a, b) => Number(a.services.length === 0) - Number(b.services.length === 0) || rank[a.level] - rank[b.level] || a.daysLeft - b.daysLeft);
}

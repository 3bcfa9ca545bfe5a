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
import { dependencyPaths, type Catalog } from '../catalog.ts';
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
  renewal?: { sha256: string; notAfter: string; deployed: boolean };
}

const DAY = 86_400_000;

function levelOf(daysLeft: number): WarningLevel {
  if (daysLeft <= 0) return 'expired';
  if (daysLeft <= 1) return 'critical';
  if (daysLeft <= 7) return 'high';
  if (daysLeft <= 14) return 'warning';
  return 'notice';
}

/**
 * @example expiryWarnings(observations, catalog, Date.parse('2020-02-04T00:00:00Z'))
 */
export function expiryWarnings(all: readonly CertObservation[], catalog: Catalog, nowMs: number, policy = defaultWarningPolicy): ExpiryWarning[] {
  const links = serviceLinks(catalog, all);
  const bySha = new Map<string, CertObservation[]>();
  for (const o of all) bySha.set(o.sha256, [...(bySha.get(o.sha256) ?? []), o]);
  const dependents = (service: string) => catalog.services.filter((s) => dependencyPaths(catalog, s.id).has(service)).map((s) => s.id);
  const served = (sha: string) => (bySha.get(sha) ?? []).some((o) => o.source === 'probe');
  const names = (o: CertObservation) => new Set([...o.dnsNames, o.subject]);

  const out: ExpiryWarning[] = [];
  for (const [sha, obs] of bySha) {
    const o = obs[0]!;
    const notAfter = Date.parse(o.notAfter);
    const lifetime = notAfter - Date.parse(o.notBefore);
    const daysLeft = (notAfter - nowMs) / DAY;
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
    const newer = all
      .filter((x) => x.sha256 !== sha && x.isCA === o.isCA && Date.parse(x.notAfter) > notAfter && [...names(x)].some((n) => names(o).has(n)))
      .sort((a, b) => Date.parse(b.notAfter) - Date.parse(a.notAfter))[0];
    const blast = new Set(services);
    for (const s of services) for (const d of dependents(s)) blast.add(d);
    out.push({
      sha256: sha,
      name: o.name ?? /CN=([^,]+)/.exec(o.subject)?.[1] ?? sha.slice(0, 12),
      subject: o.subject,
      notAfter: o.notAfter,
      daysLeft: Math.round(daysLeft * 10) / 10,
      level: levelOf(daysLeft),
      reason: [
        reason,
        services.length > 0 ? `serves ${services.join(', ')}` : 'bound to no service',
        ...(blast.size > services.length ? [`blast radius ${[...blast].sort().join(', ')}`] : []),
        // "Not deployed" only makes sense where deployment is visible: at endpoints the prober sees.
        ...(newer
          ? [served(newer.sha256) ? `its renewal ${newer.sha256.slice(0, 12)}… is served (a leftover copy?)` : served(sha) ? `a renewal ${newer.sha256.slice(0, 12)}… exists but is not deployed` : `a newer certificate ${newer.sha256.slice(0, 12)}… exists`]
          : []),
      ].join('; '),
      services,
      blastRadius: [...blast].sort(),
      endpoints: [...new Set(obs.map((x) => x.endpoint ?? x.source))],
      ...(newer ? { renewal: { sha256: newer.sha256, notAfter: newer.notAfter, deployed: served(newer.sha256) } } : {}),
    });
  }
  const rank = { expired: 0, critical: 1, high: 2, warning: 3, notice: 4 };
  return out.sort((a, b) => Number(a.services.length === 0) - Number(b.services.length === 0) || rank[a.level] - rank[b.level] || a.daysLeft - b.daysLeft);
}

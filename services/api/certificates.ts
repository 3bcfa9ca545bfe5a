/**
 * The certificate inventory as the API shows it: one item per certificate (sha256) with every
 * place and source it was seen at, the services it serves, its blast radius and any renewal. The
 * rules (which services a certificate serves, blast radius, renewals, warning levels) are the
 * shared ones of `lib/certs/`, so the API, the early warnings and the correlator agree.
 */
import type { Certificate, ServiceState } from '../../schemas/api.ts';
import type { CertObservation } from '../../schemas/contracts.ts';
import { dependencyPaths, type Catalog } from '../../lib/catalog.ts';
import { serviceLinks } from '../../lib/certs/services.ts';
import { blastRadius, certName, expiryWarnings, renewalOf, type ExpiryWarning } from '../../lib/certs/warnings.ts';
import type { Cursor } from './params.ts';
import type { Store } from '../../lib/store/store.ts';
import { certObservations, type PlacedObservation } from './queries.ts';
import { DAY_MS, isoOf } from './time.ts';

/** A certificate before its renewal is looked up (that is the costly part, done per page). */
type Item = Omit<Certificate, 'renewal'> & { notAfterMs: number; first: CertObservation };

export interface CertificateFilter {
  /** notAfter at most this many days after asOf (expired ones included). */
  expiringWithinDays?: number | undefined;
  /** Certificates whose blast radius includes the service (it serves it, or a service it depends on). */
  service?: string | undefined;
  source?: CertObservation['source'] | undefined;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** The inventory at one moment (`asOfMs`), with the derived facts computed once. */
export class Inventory {
  private readonly items: Item[];
  private readonly warnings: Map<string, ExpiryWarning>;

  /**
   * @example
   * const inv = new Inventory(await certObservations(store), catalog, await asOf());
   * inv.page({ expiringWithinDays: 30 }, 50)
   */
  constructor(
    private readonly all: readonly PlacedObservation[],
    private readonly catalog: Catalog,
    readonly asOfMs: number,
  ) {
    const links = serviceLinks(catalog, all);
    const bySha = new Map<string, PlacedObservation[]>();
    for (const o of all) {
      const list = bySha.get(o.sha256);
      if (list) list.push(o);
      else bySha.set(o.sha256, [o]);
    }
    this.items = [...bySha].map(([sha, obs]) => {
      // Every observation describes the same certificate; a labelled one gives the better name.
      const first = obs.find((o) => o.name) ?? obs[0]!;
      const services = [...new Set((links.get(sha) ?? []).map((l) => l.service))].sort();
      const notAfterMs = Date.parse(first.notAfter);
      return {
        sha256: sha,
        name: certName(first),
        subject: first.subject,
        issuer: first.issuer,
        notBefore: isoOf(first.notBefore),
        notAfter: isoOf(first.notAfter),
        daysLeft: round1((notAfterMs - asOfMs) / DAY_MS),
        isCA: first.isCA,
        dnsNames: first.dnsNames,
        sources: [...new Set(obs.map((o) => o.source))].sort(),
        places: [...new Set(obs.map((o) => o.place))].sort(),
        services,
        blastRadius: blastRadius(catalog, services),
        notAfterMs,
        first,
      };
    });
    this.items.sort((a, b) => a.notAfterMs - b.notAfterMs || (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
    this.warnings = new Map(expiryWarnings(all, catalog, asOfMs).map((w) => [w.sha256, w]));
  }

  /** One page, soonest notAfter first (then sha256), after `cursor`. */
  page(f: CertificateFilter, limit: number, cursor?: Cursor): { items: Certificate[]; next: Cursor | null } {
    const until = f.expiringWithinDays === undefined ? Infinity : this.asOfMs + f.expiringWithinDays * DAY_MS;
    const matching = this.items.filter(
      (c) =>
        c.notAfterMs <= until &&
        (f.service === undefined || c.blastRadius.includes(f.service)) &&
        (f.source === undefined || (c.sources as string[]).includes(f.source)) &&
        (!cursor || c.notAfterMs > cursor.ms || (c.notAfterMs === cursor.ms && c.sha256 > cursor.id)),
    );
    const page = matching.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map((c) => this.certificate(c)), next: matching.length > limit && last ? { ms: last.notAfterMs, id: last.sha256 } : null };
  }

  /** Certificates by sha256 (unknown ones skipped), in inventory order. */
  bySha(shas: Iterable<string>): Certificate[] {
    const wanted = new Set(shas);
    return this.items.filter((c) => wanted.has(c.sha256)).map((c) => this.certificate(c));
  }

  /** Certificates that serve one of `services` directly, in inventory order. */
  servingAny(services: readonly string[]): Certificate[] {
    return this.items.filter((c) => c.services.some((s) => services.includes(s))).map((c) => this.certificate(c));
  }

  /**
   * The certificate of a service or of any service it depends on that expires soonest, skipping
   * those whose renewal is already served (a leftover copy is no threat).
   */
  worstFor(service: string): ServiceState['worstCertificate'] {
    const scope = new Set([service, ...dependencyPaths(this.catalog, service).keys()]);
    for (const c of this.items) {
      if (!c.services.some((s) => scope.has(s))) continue;
      if (renewalOf(c.first, this.all)?.deployed) continue;
      return { sha256: c.sha256, name: c.name, notAfter: c.notAfter, daysLeft: c.daysLeft, level: this.warnings.get(c.sha256)?.level ?? 'ok' };
    }
    return null;
  }

  private certificate(c: Item): Certificate {
    const { notAfterMs: _n, first, ...rest } = c;
    const renewal = renewalOf(first, this.all);
    return { ...rest, renewal: renewal ? { sha256: renewal.sha256, notAfter: isoOf(renewal.notAfter), deployed: renewal.deployed } : null };
  }
}

/**
 * Loads the inventory as of an instant, reusing the last one for a few seconds: every list and
 * state request needs it, and it changes only when the inventory scans.
 *
 * @example
 * const inventoryAt = inventoryLoader(store, catalog);
 * (await inventoryAt(asOfMs)).worstFor('teams')
 */
export function inventoryLoader(store: Store, catalog: Catalog, o: { ttlMs?: number; now?: () => number } = {}): (asOfMs: number) => Promise<Inventory> {
  const ttlMs = o.ttlMs ?? 5_000;
  const now = o.now ?? Date.now;
  let cached: { asOfMs: number; at: number; value: Promise<Inventory> } | undefined;
  return (asOfMs) => {
    const t = now();
    if (!cached || cached.asOfMs !== asOfMs || t - cached.at >= ttlMs) {
      const value = certObservations(store).then((all) => new Inventory(all, catalog, asOfMs));
      // A failed load is not kept: the next request tries again.
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
      cached = { asOfMs, at: t, value };
    }
    return cached.value;
  };
}

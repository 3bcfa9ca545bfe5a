/**
 * Which services a certificate serves, from the catalog: bindings by sha256 or name, the
 * observation's own service, its SAN names against the services' hosts, and the endpoint it was
 * seen at. A CA serves every service its leaves serve (so an expired intermediate is attributed
 * to every leaf under it).
 */
import type { CertObservation } from '../../schemas/contracts.ts';
import { hostMatches, hostOf, serviceHosts, type Catalog } from '../catalog.ts';

/** What a certificate is known by, from one observation or from all of them together. */
export interface BindingInput {
  sha256: string;
  names: Iterable<string>;
  dnsNames: readonly string[];
  places: Iterable<{ source: string; service?: string; endpoint?: string; host?: string }>;
}

/** The side of a service that bindings look at. */
export interface BindingTarget {
  id: string;
  certificates?: readonly { name: string; sha256?: string }[];
  hosts: readonly string[];
}

export interface Binding {
  /** Declared in the catalog, named by an observation, or served at the service's endpoint. */
  inUse: boolean;
  how: string[];
}

/**
 * How a certificate is bound to a service, if at all. In use beats a match of its SAN names
 * alone, which may be a stale copy; the correlator and the inventory both decide with this.
 */
export function bindingOf(c: BindingInput, t: BindingTarget): Binding | undefined {
  const names = new Set(c.names);
  const how: string[] = [];
  let inUse = false;
  for (const b of t.certificates ?? []) {
    if ((b.sha256 && b.sha256 === c.sha256) || (!b.sha256 && names.has(b.name))) {
      how.push(`catalog binds "${b.name}"`);
      inUse = true;
    }
  }
  for (const p of c.places) {
    if (p.service === t.id) {
      how.push(`${p.source} observation names ${t.id}${p.endpoint ? ` at ${p.endpoint}` : ''}`);
      inUse = true;
    } else if (p.source === 'probe' && p.host && t.hosts.some((h) => hostMatches(h, p.host!))) {
      how.push(`served at ${p.endpoint}`);
      inUse = true;
    }
  }
  if (!inUse && c.dnsNames.some((n) => t.hosts.some((h) => hostMatches(n, h) || hostMatches(h, n)))) {
    how.push(`its names (${c.dnsNames.slice(0, 3).join(', ')}) match ${t.id}`);
  }
  return how.length > 0 ? { inUse, how: [...new Set(how)] } : undefined;
}

export interface ServiceLink {
  service: string;
  how: string;
}

export function serviceLinks(catalog: Catalog, all: readonly CertObservation[]): Map<string, ServiceLink[]> {
  const targets = catalog.services.map((s) => ({ id: s.id, certificates: s.certificates ?? [], hosts: serviceHosts(s) }));
  const direct = new Map<string, ServiceLink[]>();
  const add = (sha: string, link: ServiceLink) => {
    const list = direct.get(sha) ?? [];
    if (!list.some((l) => l.service === link.service && l.how === link.how)) list.push(link);
    direct.set(sha, list);
  };
  for (const o of all) {
    const host = o.endpoint ? hostOf(o.endpoint) : undefined;
    const cert = {
      sha256: o.sha256,
      names: o.name ? [o.name] : [],
      dnsNames: o.dnsNames,
      places: [{ source: o.source, ...(o.service ? { service: o.service } : {}), ...(o.endpoint ? { endpoint: o.endpoint } : {}), ...(host ? { host } : {}) }],
    };
    for (const t of targets) for (const how of bindingOf(cert, t)?.how ?? []) add(o.sha256, { service: t.id, how });
  }
  // CAs inherit from the leaves (and sub-CAs) they issued.
  const links = new Map(direct);
  const children = new Map<string, string[]>();
  for (const o of all) if (o.issuerSha256 && o.issuerSha256 !== o.sha256) children.set(o.issuerSha256, [...(children.get(o.issuerSha256) ?? []), o.sha256]);
  const inherited = (sha: string, seen = new Set<string>()): ServiceLink[] => {
    if (seen.has(sha)) return [];
    seen.add(sha);
    return (children.get(sha) ?? []).flatMap((c) => [...(direct.get(c) ?? []).map((l) => ({ service: l.service, how: 'issuer of a certificate it serves' })), ...inherited(c, seen)]);
  };
  for (const o of all) {
    const extra = inherited(o.sha256);
    if (extra.length === 0) continue;
    const list = [...(links.get(o.sha256) ?? [])];
    for (const l of extra) if (!list.some((x) => x.service === l.service)) list.push(l);
    links.set(o.sha256, list);
  }
  return links;
}

/**
 * Which services a certificate serves, from the catalog: bindings by sha256 or name, the
 * observation's own service, its SAN names against the services' hosts, and the endpoint it was
 * seen at. A CA serves every service its leaves serve (so an expired intermediate is attributed
 * to every leaf under it).
 */
import type { CertObservation } from '../../schemas/contracts.ts';
import { endpointsOf, hostMatches, hostOf, type Catalog } from '../catalog.ts';

export interface ServiceLink {
  service: string;
  how: string;
}

export function serviceLinks(catalog: Catalog, all: readonly CertObservation[]): Map<string, ServiceLink[]> {
  const hostsOf = new Map(catalog.services.map((s) => [s.id, [...(s.hosts ?? []), ...endpointsOf(s).map((e) => hostOf(e.url)).filter((h): h is string => !!h)]]));
  const direct = new Map<string, ServiceLink[]>();
  const add = (sha: string, link: ServiceLink) => {
    const list = direct.get(sha) ?? [];
    if (!list.some((l) => l.service === link.service && l.how === link.how)) list.push(link);
    direct.set(sha, list);
  };
  for (const o of all) {
    for (const svc of catalog.services) {
      for (const b of svc.certificates ?? []) {
        if ((b.sha256 && b.sha256 === o.sha256) || (!b.sha256 && b.name === o.name)) add(o.sha256, { service: svc.id, how: 'catalog binding' });
      }
      const hosts = hostsOf.get(svc.id)!;
      if (o.service === svc.id) add(o.sha256, { service: svc.id, how: `${o.source} observation` });
      const at = o.endpoint ? hostOf(o.endpoint) : undefined;
      if (at && o.source === 'probe' && hosts.some((h) => hostMatches(h, at))) add(o.sha256, { service: svc.id, how: `served at ${o.endpoint}` });
      if (o.dnsNames.some((n) => hosts.some((h) => hostMatches(n, h) || hostMatches(h, n)))) add(o.sha256, { service: svc.id, how: 'SAN match' });
    }
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

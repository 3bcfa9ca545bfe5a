/**
 * Scopes and binding: the services whose evidence may explain an incident (the spiking service and
 * everything it depends on, each with the path that leads there) and how a certificate is bound to
 * one of them. A certificate only becomes a suspect through such a binding.
 */
import type { Hint } from '../../../schemas/contracts.ts';
import { dependencyPaths, serviceHosts, type Catalog, type CatalogService } from '../../../lib/catalog.ts';
import { bindingOf as bindingOfCert, type Binding } from '../../../lib/certs/services.ts';
import { CertTable, type CertInfo, type PostLog, type ProbeTracker } from './evidence.ts';
import type { HintParams } from './params.ts';

export type { Binding };

/** Another service's incident as the hints of a dependent incident see it. */
export interface IncidentView {
  id: string;
  service: string;
  onsetMs: number;
  status: 'open' | 'resolved';
  topHint?: Hint;
  /** The outage the incident belongs to (see `outageIdOf` in `hints.ts`). */
  outageId?: string;
}

export interface HintContext {
  catalog: Catalog;
  certs: CertTable;
  probes: ProbeTracker;
  posts: PostLog;
  params: HintParams;
  /** The incident of another service as of `nowMs`, if any (for dependency hints). */
  incidentOf: (service: string, nowMs: number) => IncidentView | undefined;
}

/** The spiking service (hops 0) or one it depends on, with the shortest path from the spiking one. */
export interface Scope {
  service: CatalogService | undefined;
  id: string;
  path: string[];
  hops: number;
  hosts: string[];
}

/** The spiking service first, then its dependencies breadth first. */
export function scopesOf(ctx: HintContext, service: string): Scope[] {
  const byId = new Map(ctx.catalog.services.map((s) => [s.id, s]));
  const hostsOf = (svc: CatalogService | undefined) => (svc ? serviceHosts(svc) : []);
  const own = byId.get(service);
  const scopes: Scope[] = [{ service: own, id: service, path: [service], hops: 0, hosts: hostsOf(own) }];
  for (const [dep, path] of dependencyPaths(ctx.catalog, service)) {
    const svc = byId.get(dep);
    scopes.push({ service: svc, id: dep, path, hops: path.length - 1, hosts: hostsOf(svc) });
  }
  return scopes;
}

/** A scope as the shared binding rules see it. */
const targetOf = (scope: Scope) => ({ id: scope.id, certificates: scope.service?.certificates ?? [], hosts: scope.hosts });

/** How a certificate is bound to a scope (`lib/certs/services.ts`, the rule the inventory uses too). */
export const bindingOf = (c: CertInfo, scope: Scope): Binding | undefined => bindingOfCert({ ...c, places: c.places.values() }, targetOf(scope));

/** A CA is bound through the leaves it issued and through chains the service's probes saw. */
export function chainBindingOf(ca: CertInfo, scope: Scope, ctx: HintContext): Binding | undefined {
  const how: string[] = [];
  for (const leaf of ctx.certs.bySha.values()) {
    if (leaf.issuerSha256 !== ca.sha256 || leaf.sha256 === ca.sha256) continue;
    const b = bindingOf(leaf, scope);
    if (b?.inUse) how.push(`issuer of ${CertTable.label(leaf)} (${b.how[0]})`);
  }
  for (const s of ctx.probes.series.values()) {
    if (s.service === scope.id && s.chainSha256?.includes(ca.sha256)) how.push(`in the chain served at ${s.target}`);
  }
  return how.length > 0 ? { inUse: true, how: [...new Set(how)] } : undefined;
}

/** The closest scope that binds a certificate, in use before a match of its names alone. */
export function closestBinding(c: CertInfo, scopes: Scope[], ctx: HintContext): { scope: Scope; binding: Binding } | undefined {
  let best: { scope: Scope; binding: Binding } | undefined;
  for (const scope of scopes) {
    const binding = (c.isCA ? chainBindingOf(c, scope, ctx) : undefined) ?? bindingOf(c, scope);
    if (!binding) continue;
    if (!best || (binding.inUse && !best.binding.inUse) || (binding.inUse === best.binding.inUse && scope.hops < best.scope.hops)) best = { scope, binding };
  }
  return best;
}

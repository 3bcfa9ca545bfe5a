/**
 * Loads and checks `catalog.yaml`. Errors name the file, the line and the problem, e.g.
 * `catalog.yaml:14: services[1].dependsOn[0]: unknown service "m365-aut"`.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { Catalog as CatalogSchema, type Catalog, type CatalogEndpoint, type CatalogService } from '../schemas/catalog.ts';
import { compileSchema, describe } from '../schemas/decode.ts';

export type { Catalog, CatalogEndpoint, CatalogService };

/** A service's endpoints with their settings (plain URLs become `{ url }`). */
export function endpointsOf(svc: CatalogService): CatalogEndpoint[] {
  return (svc.endpoints ?? []).map((e) => (typeof e === 'string' ? { url: e } : e));
}

export class CatalogError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'CatalogError';
  }
}

const validate = compileSchema<Catalog>(CatalogSchema);

/** Reads and validates a catalog file; throws `CatalogError` naming file and line. */
export function loadCatalog(file: string): Catalog {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CatalogError(file, 0, `cannot read the catalog: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseCatalog(text, file);
}

export function parseCatalog(text: string, file = 'catalog.yaml'): Catalog {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) throw new CatalogError(file, lines.linePos(yamlError.pos[0]).line, `YAML: ${yamlError.message.split('\n')[0]}`);

  // The line of the node at a JSON path, or of its nearest existing parent.
  const lineOf = (path: (string | number)[]): number => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
    }
    return 1;
  };
  const label = (path: (string | number)[]) =>
    path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : String(p)), '') || '(root)';

  const data: unknown = doc.toJS();
  if (!validate(data)) {
    const e = validate.errors![0]!;
    const path = e.instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    if (e.keyword === 'additionalProperties') {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      throw new CatalogError(file, lineOf([...path, key]), `${label(path)}: unknown key "${key}"`);
    }
    throw new CatalogError(file, lineOf(path), describe([{ ...e, instancePath: label(path) === '(root)' ? '' : label(path) }]).trim());
  }

  const ids = new Map<string, number>();
  data.services.forEach((s, i) => {
    if (ids.has(s.id)) throw new CatalogError(file, lineOf(['services', i, 'id']), `services[${i}].id: duplicate service id "${s.id}"`);
    ids.set(s.id, i);
  });
  data.services.forEach((s, i) =>
    (s.dependsOn ?? []).forEach((d, j) => {
      if (!ids.has(d)) throw new CatalogError(file, lineOf(['services', i, 'dependsOn', j]), `services[${i}].dependsOn[${j}]: unknown service "${d}"`);
      if (d === s.id) throw new CatalogError(file, lineOf(['services', i, 'dependsOn', j]), `services[${i}].dependsOn[${j}]: "${d}" depends on itself`);
    }),
  );
  for (const s of data.services) for (const c of s.certificates ?? []) if (c.sha256) c.sha256 = c.sha256.toLowerCase();
  return data;
}

/**
 * Every service `id` depends on, transitively, with the path that leads there (cycles are cut).
 *
 * @example dependencyPaths(catalog, 'teams') // Map { 'm365-auth' => ['teams', 'm365-auth'] }
 */
export function dependencyPaths(catalog: Catalog, id: string): Map<string, string[]> {
  const byId = new Map(catalog.services.map((s) => [s.id, s]));
  const paths = new Map<string, string[]>();
  const queue: string[][] = [[id]];
  while (queue.length > 0) {
    const path = queue.shift()!;
    for (const dep of byId.get(path[path.length - 1]!)?.dependsOn ?? []) {
      if (dep === id || paths.has(dep)) continue;
      const next = [...path, dep];
      paths.set(dep, next);
      queue.push(next);
    }
  }
  return paths;
}

/** Every host name of a service: its `hosts` and the hosts of its endpoints (wildcards kept). */
export function serviceHosts(svc: CatalogService): string[] {
  return [...new Set([...(svc.hosts ?? []), ...endpointsOf(svc).map((e) => hostOf(e.url)).filter((h): h is string => !!h)])];
}

/** `*.example.com` matches one label (`a.example.com`), as in TLS; other names match exactly. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p.startsWith('*.')) {
    const rest = p.slice(1);
    return h.endsWith(rest) && h.length > rest.length && !h.slice(0, h.length - rest.length).includes('.');
  }
  return p === h;
}

/** The host part of an endpoint, target or `host:port` string, or undefined. */
export function hostOf(endpoint: string): string | undefined {
  try {
    if (/^[a-z]+:\/\//i.test(endpoint)) return new URL(endpoint).hostname.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
  const m = /^\[?([A-Za-z0-9.*:-]+?)\]?(?::\d+)?$/.exec(endpoint);
  return m?.[1]?.toLowerCase();
}

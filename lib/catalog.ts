/**
 * Loads and checks `catalog.yaml`. Every problem is reported at once, each naming the file, the
 * line, the column and the problem, e.g.
 * `catalog.yaml:14:9: services[1].dependsOn[0]: unknown service "m365-aut"`: YAML syntax,
 * the schema (unknown keys included), duplicate ids, unknown or own dependencies, dependency
 * cycles (`a → b → a`), and YAML alias bombs (more alias expansions than `MAX_ALIAS_COUNT`).
 *
 * The dependency graph is indexed once per catalog (`indexOf`), so dependencies, dependents and
 * blast radius cost time linear in the catalog, not in its square.
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isNode, isScalar, visit, type Document } from 'yaml';
import type { ErrorObject } from 'ajv';
import { Catalog as CatalogSchema, type Catalog, type CatalogEndpoint, type CatalogService } from '../schemas/catalog.ts';
import { compileSchema, describe, invalidUtf8Offset } from '../schemas/decode.ts';

export type { Catalog, CatalogEndpoint, CatalogService };

/** A service's endpoints with their settings (plain URLs become `{ url }`). */
export function endpointsOf(svc: CatalogService): CatalogEndpoint[] {
  return (svc.endpoints ?? []).map((e) => (typeof e === 'string' ? { url: e } : e));
}

/** Alias expansions allowed while reading a catalog (the `yaml` library's `maxAliasCount`). */
export const MAX_ALIAS_COUNT = 100;
/** Problems listed in one error; more are counted, not listed. */
const MAX_PROBLEMS = 100;

export interface CatalogProblem {
  file: string;
  /** 1-based; 0 when the file itself is the problem (cannot be read). */
  line: number;
  /** 1-based, when known. */
  col?: number;
  problem: string;
}

const where = (p: CatalogProblem) => `${p.file}:${p.line}${p.col ? `:${p.col}` : ''}`;

/** Every problem of a catalog, one per line as `file:line:col: problem`; `file`, `line` and `problem` are the first one's. */
export class CatalogError extends Error {
  readonly file: string;
  readonly line: number;
  readonly problem: string;
  constructor(
    readonly problems: CatalogProblem[],
    more = 0,
  ) {
    super([...problems.map((p) => `${where(p)}: ${p.problem}`), ...(more > 0 ? [`… and ${more} more problem(s)`] : [])].join('\n'));
    this.name = 'CatalogError';
    this.file = problems[0]?.file ?? '';
    this.line = problems[0]?.line ?? 0;
    this.problem = problems[0]?.problem ?? '';
  }
}

const validate = compileSchema<Catalog>(CatalogSchema, { allErrors: true });

/** Reads and validates a catalog file; throws `CatalogError` naming file and line of every problem. */
export function loadCatalog(file: string): Catalog {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new CatalogError([{ file, line: 0, problem: `cannot read the catalog: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  if (!isUtf8(bytes)) {
    const at = invalidUtf8Offset(bytes);
    const before = bytes.subarray(0, at);
    const line = before.filter((b) => b === 10).length + 1;
    throw new CatalogError([{ file, line, col: at - before.lastIndexOf(10), problem: 'not UTF-8: invalid byte sequence' }]);
  }
  return parseCatalog(bytes.toString('utf8'), file);
}

/**
 * The schema's errors, one per problem: of a union's branches (an endpoint is a URL or an
 * object), only those of the branch the value's type matches.
 */
function schemaProblems(errors: ErrorObject[]): ErrorObject[] {
  const out: ErrorObject[] = [];
  for (const e of errors) {
    if (e.keyword !== 'anyOf') {
      out.push(e);
      continue;
    }
    const branch: ErrorObject[] = [];
    while (out.length > 0 && out[out.length - 1]!.instancePath.startsWith(e.instancePath)) branch.unshift(out.pop()!);
    const useful = branch.filter((b) => !(b.keyword === 'type' && b.instancePath === e.instancePath));
    out.push(...(useful.length > 0 ? useful : branch.slice(0, 1)));
  }
  return out;
}

export function parseCatalog(text: string, file = 'catalog.yaml'): Catalog {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: CatalogProblem[] = [];
  let more = 0;
  const add = (pos: { line: number; col: number }, problem: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ file, line: pos.line, col: pos.col, problem });
    else more++;
  };
  const done = (): never => {
    problems.sort((a, b) => a.line - b.line || (a.col ?? 0) - (b.col ?? 0));
    throw new CatalogError(problems, more);
  };
  for (const e of doc.errors) add(lines.linePos(e.pos[0]), `YAML: ${e.message.split('\n')[0]}`);
  if (problems.length > 0) done();

  // The position of the node at a JSON path, or of its nearest existing parent.
  const posOf = (path: (string | number)[]): { line: number; col: number } => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]);
    }
    return { line: 1, col: 1 };
  };
  // The position of a key in the mapping at `path` (the key, not its value).
  const keyPos = (path: (string | number)[], key: string): { line: number; col: number } => {
    const map = doc.getIn(path, true);
    if (isMap(map)) {
      const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
      if (pair && isNode(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]);
    }
    return posOf([...path, key]);
  };
  const label = (path: (string | number)[]) =>
    path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : String(p)), '') || '(root)';

  const data = toJS(doc, lines, add);
  if (problems.length > 0) done();

  if (!validate(data)) {
    for (const e of schemaProblems(validate.errors ?? [])) {
      const path = e.instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      if (e.keyword === 'additionalProperties') {
        const key = (e.params as { additionalProperty: string }).additionalProperty;
        add(keyPos(path, key), `${label(path)}: unknown key "${key}"`);
      } else add(posOf(path), describe([{ ...e, instancePath: label(path) === '(root)' ? '' : label(path) }]).trim());
    }
  }

  // Meaning, on every service whose shape allows it (so one bad entry does not hide the rest).
  const services = data !== null && typeof data === 'object' ? (data as { services?: unknown }).services : undefined;
  const list = Array.isArray(services) ? (services as unknown[]) : [];
  const ids = new Map<string, number>();
  list.forEach((s, i) => {
    const id = (s as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    if (ids.has(id)) add(posOf(['services', i, 'id']), `services[${i}].id: duplicate service id "${id}"`);
    else ids.set(id, i);
  });
  const deps = (s: unknown): unknown[] => {
    const d = (s as { dependsOn?: unknown } | null)?.dependsOn;
    return Array.isArray(d) ? d : [];
  };
  list.forEach((s, i) =>
    deps(s).forEach((d, j) => {
      if (typeof d !== 'string') return;
      if (!ids.has(d)) add(posOf(['services', i, 'dependsOn', j]), `services[${i}].dependsOn[${j}]: unknown service "${d}"`);
      else if (d === (s as { id?: unknown }).id) add(posOf(['services', i, 'dependsOn', j]), `services[${i}].dependsOn[${j}]: "${d}" depends on itself`);
    }),
  );
  for (const cycle of dependencyCycles(list.map((s) => ({ id: (s as { id?: unknown } | null)?.id, dependsOn: deps(s) })), ids)) {
    const [i, j] = cycle.edge;
    add(posOf(['services', i, 'dependsOn', j]), `services[${i}].dependsOn[${j}]: dependency cycle ${cycle.ids.join(' → ')}`);
  }
  if (problems.length > 0) done();

  const catalog = data as Catalog;
  for (const s of catalog.services) for (const c of s.certificates ?? []) if (c.sha256) c.sha256 = c.sha256.toLowerCase();
  return catalog;
}

/** The document as plain data, with alias expansions limited (an alias bomb is refused at its first alias). */
function toJS(doc: Document, lines: LineCounter, add: (pos: { line: number; col: number }, problem: string) => void): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    let first: number | undefined;
    let aliases = 0;
    visit(doc, {
      Alias(_key, node) {
        aliases++;
        first ??= node.range?.[0];
      },
    });
    const excessive = /alias count/i.test((err as Error).message);
    add(
      lines.linePos(first ?? 0),
      excessive
        ? `YAML: more alias expansions than the limit of ${MAX_ALIAS_COUNT} (maxAliasCount): an alias bomb? (${aliases} aliases, the first here)`
        : `YAML: ${(err as Error).message.split('\n')[0]}`,
    );
    return undefined;
  }
}

/**
 * The dependency cycles among services (each strongly connected component of two or more, found
 * without recursion so that a 100k-long chain cannot overflow the stack), each as the shortest
 * cycle through its first service in catalog order, with the `[service, dependsOn]` index of the
 * edge that starts it. Self-dependencies are reported on their own.
 */
function dependencyCycles(services: { id: unknown; dependsOn: unknown[] }[], ids: Map<string, number>): { ids: string[]; edge: [number, number] }[] {
  const n = services.length;
  const adj: number[][] = services.map((s, i) =>
    typeof s.id === 'string' && ids.get(s.id) === i ? s.dependsOn.map((d) => (typeof d === 'string' ? (ids.get(d) ?? -1) : -1)).filter((k) => k >= 0 && k !== i) : [],
  );
  // Tarjan's algorithm, iterative.
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const comp = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  let counter = 0;
  let comps = 0;
  const sizes: number[] = [];
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const [v, k] = top;
      if (k < adj[v]!.length) {
        top[1]++;
        const w = adj[v]![k]!;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const u = work[work.length - 1]![0];
        low[u] = Math.min(low[u]!, low[v]!);
      }
      if (low[v] === index[v]) {
        let size = 0;
        for (let w = -1; w !== v; ) {
          w = stack.pop()!;
          onStack[w] = 0;
          comp[w] = comps;
          size++;
        }
        sizes.push(size);
        comps++;
      }
    }
  }
  const out: { ids: string[]; edge: [number, number] }[] = [];
  const seen = new Set<number>();
  for (let start = 0; start < n; start++) {
    const c = comp[start]!;
    if (sizes[c]! < 2 || seen.has(c)) continue;
    seen.add(c);
    // Shortest way back to `start` inside its component (breadth first, parents kept).
    const parent = new Map<number, number>();
    const queue = [start];
    for (let q = 0; q < queue.length && !parent.has(start); q++) {
      const v = queue[q]!;
      for (const w of adj[v]!) {
        if (comp[w] !== c || parent.has(w)) continue;
        parent.set(w, v);
        queue.push(w);
      }
    }
    const path = [start];
    for (let v = parent.get(start)!; v !== start; v = parent.get(v)!) path.unshift(v);
    path.unshift(start);
    const next = path[1]!;
    const j = services[start]!.dependsOn.findIndex((d) => d === services[next]!.id);
    out.push({ ids: path.map((i) => services[i]!.id as string), edge: [start, j] });
  }
  return out;
}

interface CatalogIndex {
  byId: Map<string, CatalogService>;
  /** Who depends directly on each service. */
  dependents: Map<string, string[]>;
  size: number;
}
const indexes = new WeakMap<readonly CatalogService[], CatalogIndex>();

/** The dependency graph of a catalog in both directions, built once per catalog (and again if its list of services changes length). */
function indexOf(catalog: Catalog): CatalogIndex {
  const cached = indexes.get(catalog.services);
  if (cached && cached.size === catalog.services.length) return cached;
  const byId = new Map(catalog.services.map((s) => [s.id, s]));
  const dependents = new Map<string, string[]>();
  for (const s of catalog.services) {
    for (const d of s.dependsOn ?? []) {
      const list = dependents.get(d);
      if (list) list.push(s.id);
      else dependents.set(d, [s.id]);
    }
  }
  const index = { byId, dependents, size: catalog.services.length };
  indexes.set(catalog.services, index);
  return index;
}

/**
 * Every service `id` depends on, transitively, with the shortest path that leads there (cycles
 * are cut), in breadth-first order.
 *
 * @example dependencyPaths(catalog, 'teams') // Map { 'm365-auth' => ['teams', 'm365-auth'] }
 */
export function dependencyPaths(catalog: Catalog, id: string): Map<string, string[]> {
  const { byId } = indexOf(catalog);
  const paths = new Map<string, string[]>();
  const queue: string[][] = [[id]];
  for (let q = 0; q < queue.length; q++) {
    const path = queue[q]!;
    for (const dep of byId.get(path[path.length - 1]!)?.dependsOn ?? []) {
      if (dep === id || paths.has(dep)) continue;
      const next = [...path, dep];
      paths.set(dep, next);
      queue.push(next);
    }
  }
  return paths;
}

/**
 * Every service hit when `services` fail: the services themselves and every service that depends
 * on one of them through `dependsOn`, transitively; sorted. One walk over the reverse
 * dependencies: linear in the catalog however many services it holds.
 *
 * @example blastRadius(catalog, ['m365-auth']) // ['m365-auth', 'outlook', 'sharepoint', 'teams']
 */
export function blastRadius(catalog: Catalog, services: readonly string[]): string[] {
  const { dependents } = indexOf(catalog);
  const hit = new Set(services);
  const queue = [...services];
  for (let q = 0; q < queue.length; q++) {
    for (const d of dependents.get(queue[q]!) ?? []) {
      if (hit.has(d)) continue;
      hit.add(d);
      queue.push(d);
    }
  }
  return [...hit].sort();
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

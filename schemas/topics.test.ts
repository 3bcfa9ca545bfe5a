/**
 * The pipeline table in `topics.ts` against who really produces and consumes each topic:
 *
 * - the services' sources (`services/<name>/`, every file but tests) and the bus adapters
 *   (`lib/bus/`, as `bus`), read with the TypeScript parser: a `subscribe({ topics, broadcastTopics })`
 *   consumes the topics named there; `publish(topics.x.name, …)`, a `publishBatch(…)` argument and
 *   a `{ topic, messages }` batch literal produce them; `publishDeadLetters(…)` produces `dlq.v1`
 *   when the service is the dead-letter owner of a topic it consumes (the other groups' dead
 *   letters are dropped by `decodeBatch`) or consumes nothing (it refuses its own input);
 * - the scenario feed (`replay`), run on a small scenario over a recording bus, since it picks
 *   its topics from the files it reads.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Bus, TopicBatch } from '../lib/bus/bus.ts';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import { feedScenario } from '../lib/scenario/feed.ts';
import { topicByName, topics, type TopicId, type TopicName } from './topics.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
type Role = 'producers' | 'consumers';
type Use = { who: string; topic: TopicId; role: Role; where: string };

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts') ? [path] : [];
  });
}

/** `topics.<id>.name` → id. */
function topicRef(node: ts.Node): TopicId | undefined {
  if (!ts.isPropertyAccessExpression(node) || node.name.text !== 'name') return undefined;
  const inner = node.expression;
  if (!ts.isPropertyAccessExpression(inner) || !ts.isIdentifier(inner.expression) || inner.expression.text !== 'topics') return undefined;
  return inner.name.text in topics ? (inner.name.text as TopicId) : undefined;
}

function refsIn(node: ts.Node): TopicId[] {
  const found: TopicId[] = [];
  const visit = (n: ts.Node) => {
    const ref = topicRef(n);
    if (ref) found.push(ref);
    else ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

const calleeName = (call: ts.CallExpression) =>
  ts.isPropertyAccessExpression(call.expression) ? call.expression.name.text : ts.isIdentifier(call.expression) ? call.expression.text : undefined;

const prop = (o: ts.ObjectLiteralExpression, name: string) =>
  o.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === name);

/** What one source file produces and consumes, statically. */
function scan(file: string, who: string): { uses: Use[]; deadLetters: string[]; groups: Map<TopicId, string[]> } {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const uses: Use[] = [];
  const deadLetters: string[] = [];
  const groups = new Map<TopicId, string[]>();
  const where = (n: ts.Node) => `${relative(ROOT, file)}:${src.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const visit = (n: ts.Node) => {
    if (ts.isCallExpression(n)) {
      const name = calleeName(n);
      const arg = n.arguments[0];
      if (name === 'subscribe' && arg && ts.isObjectLiteralExpression(arg)) {
        const group = prop(arg, 'group')?.initializer;
        for (const key of ['topics', 'broadcastTopics']) {
          const p = prop(arg, key);
          for (const topic of p ? refsIn(p.initializer) : []) {
            uses.push({ who, topic, role: 'consumers', where: where(n) });
            if (group && ts.isStringLiteral(group)) groups.set(topic, [...(groups.get(topic) ?? []), group.text]);
          }
        }
      } else if (name === 'publish' || name === 'publishBatch') {
        for (const a of n.arguments) for (const topic of refsIn(a)) uses.push({ who, topic, role: 'producers', where: where(n) });
      } else if (name === 'publishDeadLetters') {
        deadLetters.push(where(n));
      }
    }
    if (ts.isObjectLiteralExpression(n) && prop(n, 'topic') && prop(n, 'messages')) {
      for (const topic of refsIn(prop(n, 'topic')!.initializer)) uses.push({ who, topic, role: 'producers', where: where(n) });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return { uses, deadLetters, groups };
}

/** The topics the scenario feed publishes to, observed on a bus while it feeds a scenario with every kind of file. */
async function observeFeed(): Promise<Use[]> {
  const example = join(ROOT, 'examples/teams-2020-02-03');
  const dir = mkdtempSync(join(tmpdir(), 'topics-feed-'));
  try {
    cpSync(join(example, 'catalog.yaml'), join(dir, 'catalog.yaml'));
    cpSync(join(example, 'certs'), join(dir, 'certs'), { recursive: true });
    const first = (file: string) => readFileSync(join(example, file), 'utf8').split('\n')[0]!;
    writeFileSync(join(dir, 'reports.ndjson'), `${JSON.stringify({ id: 'r1', ts: '2020-02-03T13:40:00Z', service: 'teams', channel: 'web' })}\n{"id": "cut\n`);
    for (const f of ['posts.ndjson', 'probes.ndjson', 'certs.ndjson']) writeFileSync(join(dir, f), `${first(f)}\n`);
    const bus = new MemoryBus();
    const seen = new Set<TopicName>();
    const recording: Bus = Object.assign(Object.create(bus) as MemoryBus, {
      publish: async (topic: TopicName, messages: TopicBatch['messages']) => (seen.add(topic), bus.publish(topic, messages)),
      publishBatch: async (batches: readonly TopicBatch[]) => (batches.forEach((b) => seen.add(b.topic)), bus.publishBatch(batches)),
    });
    await feedScenario({ dir, bus: recording });
    await bus.close();
    return [...seen].map((name) => ({ who: 'replay', topic: topicByName.get(name)!.id, role: 'producers' as const, where: 'lib/scenario/feed.ts (observed)' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the pipeline table (schemas/topics.ts)', () => {
  it('lists exactly who produces and consumes each topic, and each dead-letter owner consumes its topic as that group', async () => {
    const uses: Use[] = [];
    const deadLetterCalls = new Map<string, string[]>();
    const groups = new Map<string, Map<TopicId, string[]>>();
    const scanned = [
      ...readdirSync(join(ROOT, 'services')).flatMap((svc) => sourcesUnder(join(ROOT, 'services', svc)).map((f) => [f, svc] as const)),
      ...['kafka-bus.ts', 'memory-bus.ts', 'dead-letters.ts'].map((f) => [join(ROOT, 'lib/bus', f), 'bus'] as const),
    ];
    for (const [file, who] of scanned) {
      const r = scan(file, who);
      uses.push(...r.uses);
      if (r.deadLetters.length > 0) deadLetterCalls.set(who, [...(deadLetterCalls.get(who) ?? []), ...r.deadLetters]);
      for (const [topic, g] of r.groups) {
        const mine = groups.get(who) ?? new Map<TopicId, string[]>();
        mine.set(topic, [...(mine.get(topic) ?? []), ...g]);
        groups.set(who, mine);
      }
    }
    uses.push(...(await observeFeed()));
    // publishDeadLetters produces dead letters only where decodeBatch hands the caller some to publish.
    for (const [who, calls] of deadLetterCalls) {
      const consumed = (Object.keys(topics) as TopicId[]).filter((id) => uses.some((u) => u.who === who && u.role === 'consumers' && u.topic === id));
      if (consumed.length === 0 || consumed.some((id) => topics[id].deadLetteredBy === who)) uses.push({ who, topic: 'dlq', role: 'producers', where: calls[0]! });
    }

    const problems: string[] = [];
    for (const [id, spec] of Object.entries(topics) as [TopicId, (typeof topics)[TopicId]][]) {
      for (const role of ['producers', 'consumers'] as const) {
        const listed = new Set<string>(spec[role]);
        const real = new Map<string, string>();
        for (const u of uses) if (u.topic === id && u.role === role && !real.has(u.who)) real.set(u.who, u.where);
        for (const [who, where] of real) if (!listed.has(who)) problems.push(`${spec.name}: ${where} makes "${who}" one of its ${role}, but the table does not list it`);
        for (const who of listed) if (!real.has(who)) problems.push(`${spec.name}: the table lists "${who}" among its ${role}, but no source does that`);
      }
      const owner = spec.deadLetteredBy;
      if (!(spec.consumers as readonly string[]).includes(owner)) problems.push(`${spec.name}: its dead-letter owner "${owner}" does not consume it`);
      else if (!(groups.get(owner)?.get(id) ?? []).includes(owner)) problems.push(`${spec.name}: "${owner}" does not subscribe to it as group "${owner}", so no group would publish its dead letters`);
    }
    assert.deepEqual(problems, []);
  });
});

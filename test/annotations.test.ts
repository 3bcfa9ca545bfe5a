/**
 * Grafana annotations through its HTTP API, against a local server standing in for Grafana: one
 * annotation per incident, created once, then updated (with the service, hint kind and incident
 * id tags) as the incident changes, found again by tag after a restart, retried when Grafana fails.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Incident } from '../schemas/contracts.ts';
import { topics } from '../schemas/topics.ts';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import { createLogger } from '../lib/log.ts';
import { createMetrics } from '../lib/metrics.ts';
import { runAnnotator } from '../services/annotator/annotator.ts';
import { GrafanaClient } from '../services/annotator/grafana.ts';

interface Stored {
  id: number;
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
  dashboardUID?: string;
}

class FakeGrafana {
  readonly annotations = new Map<number, Stored>();
  readonly calls: string[] = [];
  failNext = 0;
  private server!: Server;
  private next = 1;
  url = '';

  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      const send = (status: number, data: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data));
      if (req.headers.authorization !== 'Bearer glsa_test') return send(401, { message: 'Unauthorized' });
      this.calls.push(`${req.method} ${req.url?.split('?')[0]}`);
      if (this.failNext > 0) {
        this.failNext--;
        return send(503, { message: 'busy' });
      }
      const url = new URL(req.url ?? '/', 'http://g');
      if (req.method === 'GET' && url.pathname === '/api/annotations') {
        const tags = url.searchParams.getAll('tags');
        return send(200, [...this.annotations.values()].filter((a) => tags.every((t) => a.tags.includes(t))));
      }
      if (req.method === 'POST' && url.pathname === '/api/annotations') {
        const id = this.next++;
        this.annotations.set(id, { ...(JSON.parse(body) as Omit<Stored, 'id'>), id });
        return send(200, { message: 'Annotation added', id });
      }
      const m = /^\/api\/annotations\/(\d+)$/.exec(url.pathname);
      if (req.method === 'PUT' && m && this.annotations.has(Number(m[1]))) {
        this.annotations.set(Number(m[1]), { ...(JSON.parse(body) as Omit<Stored, 'id'>), id: Number(m[1]) });
        return send(200, { message: 'Annotation updated' });
      }
      send(404, { message: 'Not found' });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  stop(): void {
    this.server.close();
  }
}

const base: Incident = {
  id: 'teams-20200203T1340Z',
  service: 'teams',
  status: 'open',
  startedAt: '2020-02-03T13:40:00.000Z',
  detectedAt: '2020-02-03T13:41:29.000Z',
  resolvedAt: null,
  peakPerMin: 20,
  baselinePerMin: 1.4,
  hints: [],
  revision: 1,
  updatedAt: '2020-02-03T13:41:29.000Z',
};
const hint = { kind: 'cert_expired' as const, confidence: 0.97, summary: 'certificate teams-auth-token-signing expired at 13:31 UTC', evidence: {}, certSha256: 'a'.repeat(64) };

describe('Grafana annotations', () => {
  const grafana = new FakeGrafana();
  before(() => grafana.start());
  after(() => grafana.stop());

  async function annotator(): Promise<MemoryBus> {
    const bus = new MemoryBus();
    await runAnnotator({ bus, grafana: new GrafanaClient(grafana.url, 'glsa_test'), logger: createLogger('test', 'silent'), metrics: createMetrics(), dashboardUID: 'outage-overview', retryInitialMs: 5 });
    return bus;
  }
  const publish = async (bus: MemoryBus, inc: Incident) => {
    await bus.publish(topics.incidents.name, [{ key: inc.id, value: JSON.stringify(inc) }]);
    await bus.drain();
  };

  it('creates one annotation per incident and updates it as the incident changes', async () => {
    const bus = await annotator();
    grafana.failNext = 1; // Grafana is busy once: retried
    await publish(bus, base);
    await publish(bus, { ...base, revision: 2, hints: [hint], updatedAt: '2020-02-03T13:45:00.000Z' });
    await publish(bus, { ...base, revision: 3, hints: [hint], status: 'resolved', resolvedAt: '2020-02-03T17:57:00.000Z', updatedAt: '2020-02-03T18:27:00.000Z' });
    assert.equal(grafana.annotations.size, 1);
    const a = [...grafana.annotations.values()][0]!;
    assert.deepEqual(a.tags, ['service:teams', 'incident:teams-20200203T1340Z', 'hint:cert_expired', 'resolved']);
    assert.equal(a.time, Date.parse(base.startedAt));
    assert.equal(a.timeEnd, Date.parse('2020-02-03T17:57:00.000Z'));
    assert.equal(a.dashboardUID, 'outage-overview');
    assert.match(a.text, /cert_expired 97%: certificate teams-auth-token-signing expired/);
    assert.equal(grafana.calls.filter((c) => c === 'POST /api/annotations').length, 1);
    assert.equal(grafana.calls.filter((c) => c.startsWith('PUT')).length, 2);
  });

  it('after a restart, finds the incident\'s annotation by its tag and updates it', async () => {
    const bus = await annotator();
    await publish(bus, { ...base, revision: 4, hints: [hint], status: 'open', updatedAt: '2020-02-03T18:40:00.000Z' });
    assert.equal(grafana.annotations.size, 1);
    assert.deepEqual([...grafana.annotations.values()][0]!.tags.at(-1), 'open');
    assert.equal(grafana.calls.filter((c) => c === 'POST /api/annotations').length, 1);
  });
});

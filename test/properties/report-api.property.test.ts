/**
 * The report API on hostile bodies. Directly (10,000 runs by default): `readReportBody` and
 * `checkReport` never throw; a body is refused whole with a 400 or 413 and a reason, or every item
 * is either a valid UserReport or refused with its index and reason. Over HTTP (a tenth of the
 * runs, the in-process app on a free port): never a 5xx, always a JSON answer, and what reached
 * the bus is exactly what was accepted.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { UserReport } from '../../schemas/contracts.ts';
import { DeadLetterReasons } from '../../schemas/contracts.ts';
import { check, leafProblem } from '../../schemas/decode.ts';
import { topics } from '../../schemas/topics.ts';
import { MemoryBus } from '../../lib/bus/memory-bus.ts';
import { parseCatalog } from '../../lib/catalog.ts';
import { hardenServer } from '../../lib/http-server.ts';
import { createLogger } from '../../lib/log.ts';
import { createMetrics } from '../../lib/metrics.ts';
import { createReportApp } from '../../services/report-ingest/app.ts';
import { checkReport, readReportBody } from '../../services/report-ingest/items.ts';
import { hostileLine, mutatedBytes, mutatedPayload } from './arbitraries.ts';
import { runs } from './config.ts';

const REASONS = new Set([...DeadLetterReasons.anyOf.map((l) => l.const as string), 'unknown_service', 'forbidden_channel']);
const TS = '2026-11-25T10:00:00.000Z';

/** Bodies: one report, a JSON array, NDJSON, each from mutated payloads or arbitrary bytes. */
const body = fc.oneof(
  mutatedPayload('UserReport').map((s) => ({ bytes: Buffer.from(s), ndjson: false })),
  fc.array(mutatedPayload('UserReport'), { maxLength: 5 }).map((items) => ({ bytes: Buffer.from(`[${items.join(',')}]`), ndjson: false })),
  fc.array(hostileLine('UserReport'), { maxLength: 6 }).map((lines) => ({ bytes: Buffer.concat(lines.flatMap((l) => [Buffer.from(l), Buffer.from('\n')])), ndjson: true })),
  mutatedBytes(fc.array(mutatedPayload('UserReport'), { minLength: 1, maxLength: 3 }).map((items) => Buffer.from(`[${items.join(',')}]`))).map((bytes) => ({ bytes, ndjson: false })),
  fc.uint8Array({ maxLength: 100 }).map((bytes) => ({ bytes: Buffer.from(bytes), ndjson: false })),
);

describe('report API, property-based', () => {
  it('readReportBody and checkReport: a clear refusal or items each valid or refused with a reason', () => {
    fc.assert(
      fc.property(body, ({ bytes, ndjson }) => {
        const read = readReportBody(bytes, { ndjson, maxBatch: 1000 });
        if (!read.ok) {
          assert.ok([400, 413].includes(read.status));
          assert.ok(read.code.length > 0 && read.message.length > 0);
          return;
        }
        for (const r of read.refused) assert.ok(REASONS.has(r.reason), r.reason);
        let n = 0;
        read.items.forEach((item, index) => {
          n++;
          assert.ok(!read.refused.some((r) => r.index === index), 'an item both kept and refused');
          const c = checkReport(item, index, { id: () => 'id-1', ts: TS });
          if (c.ok) {
            assert.ok(check('UserReport', c.report).ok);
            assert.equal(leafProblem(c.report), undefined);
          } else assert.ok(REASONS.has(c.refused.reason), c.refused.reason);
        });
        assert.ok(n + read.refused.length > 0 || !ndjson);
      }),
      runs(),
    );
  });

  describe('over HTTP', () => {
    let server: Server;
    let url: string;
    let bus: MemoryBus;
    let onBus: UserReport[] = [];
    before(async () => {
      bus = new MemoryBus();
      await bus.subscribe({ group: 'prop', topics: [topics.reports.name], eachBatch: async (b) => void onBus.push(...b.map((m) => JSON.parse(String(m.value)) as UserReport)) });
      const catalog = parseCatalog('services:\n  - id: teams\n    name: Teams\n  - id: zoom\n    name: Zoom\n');
      const app = createReportApp({ bus, catalog, logger: createLogger('test', 'silent'), metrics: createMetrics(), tokens: ['tok-property-0123456789'], allowAnonymous: false, salt: 'salt-0123456789abcdef', tokenRatePerMin: 1e9, dedupIds: 10 });
      server = hardenServer((await import('node:http')).createServer(app));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/reports`;
    });
    after(() => server.close());

    it('never a 5xx, always a JSON answer, and exactly the accepted reports on the bus', async () => {
      await fc.assert(
        fc.asyncProperty(body, async ({ bytes, ndjson }) => {
          onBus = [];
          const res = await fetch(url, { method: 'POST', body: bytes, headers: { authorization: 'Bearer tok-property-0123456789', 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' } });
          const json = (await res.json()) as { accepted?: string[]; error?: string };
          await bus.drain();
          assert.ok([202, 400, 413, 422].includes(res.status), `${res.status} ${JSON.stringify(json)}`);
          assert.deepEqual(onBus.map((r) => r.id), res.status === 202 ? json.accepted : []);
        }),
        runs(0.1),
      );
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import type { Incident } from '../../schemas/contracts.ts';
import { topics } from '../../schemas/topics.ts';
import { MemoryBus } from '../../lib/bus/memory-bus.ts';
import { parseCatalog } from '../../lib/catalog.ts';
import { createLogger } from '../../lib/log.ts';
import { createMetrics } from '../../lib/metrics.ts';
import { runCorrelator } from './correlator.ts';

const MIN = 60_000;

describe('correlator service, live', () => {
  it('resolves an incident of a service that went silent, by the wall clock, only while input is live', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const bus = new MemoryBus();
      const seen: Incident[] = [];
      const start = Date.parse('2026-11-25T08:00:00Z');
      let wall = start;
      const handle = await runCorrelator({
        bus,
        catalog: parseCatalog('services:\n  - id: teams\n    name: Teams\n'),
        logger: createLogger('test', 'silent'),
        metrics: createMetrics(),
        now: () => wall,
        idleTickLatenessMs: 5 * MIN,
        onIncident: (i) => seen.push(i),
      });
      const reports = [];
      for (let m = 0; m < 60; m++) for (let k = 0; k < (m >= 45 ? 40 : 2); k++) reports.push({ id: `r${m}-${k}`, ts: new Date(start + m * MIN + k * 1000).toISOString(), service: 'teams', channel: 'web' });
      await bus.publish(topics.reports.name, reports.map((r) => ({ key: 'teams', value: JSON.stringify(r) })));
      await bus.drain();
      assert.equal(seen.at(-1)?.status, 'open');
      // Then silence. The wall clock moves on; after the quiet period the incident resolves.
      wall = start + 60 * MIN;
      for (let i = 0; i < 45; i++) {
        wall += MIN;
        mock.timers.tick(MIN);
        await new Promise((r) => setImmediate(r));
      }
      await bus.drain();
      assert.equal(seen.at(-1)?.status, 'resolved');
      // Resolution is dated where the counts came back to baseline (the 5-minute window trails by a few minutes).
      const resolvedAt = Date.parse(seen.at(-1)!.resolvedAt!);
      assert.ok(resolvedAt >= start + 60 * MIN && resolvedAt <= start + 65 * MIN, seen.at(-1)!.resolvedAt!);
      handle.stop();
    } finally {
      mock.timers.reset();
    }
  });
});

/**
 * Settled report counts on chDB (real SQL): after a replay, a redelivered batch and reports that
 * arrive for minutes already settled, `report_counts_settled` holds exactly the rollup's distinct
 * counts (and an independent count of the ids) for every minute below the watermark; and the
 * report series and service states the query API answers are the same before and after settling.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { UserReport } from '../schemas/contracts.ts';
import { topics } from '../schemas/topics.ts';
import { replay } from '../cli/replay.ts';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import type { Catalog } from '../lib/catalog.ts';
import { createLogger } from '../lib/log.ts';
import { createMetrics } from '../lib/metrics.ts';
import { migrate } from '../lib/store/migrate.ts';
import { reportRow } from '../lib/store/rows.ts';
import { ReportSettler, SETTLE_LATENESS_MS, SETTLE_SOURCE_SILENCE_MS, settleMarks } from '../lib/store/settle.ts';
import { openStore, type Store } from '../lib/store/store.ts';
import { createApiApp } from '../services/api/app.ts';
import { createIncidentFeed } from '../services/api/feed.ts';
import { runSink } from '../services/sink/sink.ts';
import { startClickHouseHttp } from './helpers/clickhouse-http.ts';

const logger = createLogger('settle-test', 'silent');
const MINUTE = 60_000;
const T0 = Date.parse('2020-03-02T10:00:00.000Z');

type Counts = Map<string, string>;

/** `service minute` → `reports/reporters`, for every minute before `belowMs`. */
async function settledCounts(store: Store, belowMs: number): Promise<Counts> {
  const rows = await store.query<{ service: string; m: string; n: string; p: string }>(
    `SELECT service, toString(minute) AS m, argMax(reports, settled_at) AS n, argMax(reporters, settled_at) AS p
     FROM report_counts_settled WHERE minute < fromUnixTimestamp64Milli({below:Int64}, 'UTC') GROUP BY service, minute`,
    { below: belowMs },
  );
  return new Map(rows.map((r) => [`${r.service} ${r.m}`, `${r.n}/${r.p}`]));
}

async function rollupCounts(store: Store, belowMs: number): Promise<Counts> {
  const rows = await store.query<{ service: string; m: string; n: string; p: string }>(
    `SELECT service, toString(minute) AS m, uniqExactMerge(reports) AS n, uniqExactMerge(reporters) AS p
     FROM report_counts_1m WHERE minute < fromUnixTimestamp64Milli({below:Int64}, 'UTC') GROUP BY service, minute`,
    { below: belowMs },
  );
  return new Map(rows.map((r) => [`${r.service} ${r.m}`, `${r.n}/${r.p}`]));
}

/** The same counts straight from the reports, in JavaScript: distinct ids, and distinct authors (the id when anonymous). */
function expectedCounts(reports: readonly UserReport[], belowMs: number): Counts {
  const sets = new Map<string, { ids: Set<string>; who: Set<string> }>();
  for (const r of reports) {
    const minute = Math.floor(Date.parse(r.ts) / MINUTE) * MINUTE;
    if (minute >= belowMs) continue;
    const key = `${r.service} ${new Date(minute).toISOString().slice(0, 19).replace('T', ' ')}`;
    const s = sets.get(key) ?? { ids: new Set(), who: new Set() };
    s.ids.add(r.id);
    s.who.add(r.author ? r.author : r.id);
    sets.set(key, s);
  }
  return new Map([...sets].map(([k, s]) => [k, `${s.ids.size}/${s.who.size}`]));
}

const sorted = (c: Counts) => [...c].sort(([a], [b]) => (a < b ? -1 : 1));

/** Reports of `service` for `minutes` minutes from `fromMs`: 1–7 a minute, a few authors repeating, some anonymous. */
function reports(service: string, fromMs: number, minutes: number, prefix = service): UserReport[] {
  const out: UserReport[] = [];
  for (let m = 0; m < minutes; m++) {
    const n = 1 + ((m * 7 + service.length) % 7);
    for (let j = 0; j < n; j++) {
      const author = j % 3 === 2 ? undefined : `${service}-user-${(m + j) % 4}`;
      out.push({ id: `${prefix}-${m}-${j}`, ts: new Date(fromMs + m * MINUTE + j * 1_000 + 123).toISOString(), service, channel: 'web', ...(author ? { author } : {}) });
    }
  }
  return out;
}

describe('settled report counts', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'settle-test-'));
    dirs.push(d);
    return join(d, 'chdb');
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('equal the rollup after a replay, up to the latest report minute minus the lateness', async () => {
    const dataDir = tmp();
    await replay({ dir: 'examples/teams-2020-02-03', store: { kind: 'chdb', dataDir }, logger });
    const store = await openStore({ kind: 'chdb', dataDir });
    try {
      const latest = Number((await store.query<{ s: number }>('SELECT toUnixTimestamp(max(minute)) AS s FROM report_counts_1m'))[0]!.s) * 1000;
      const { settled } = await settleMarks(store);
      assert.equal(new Date(settled).toISOString(), new Date(latest - SETTLE_LATENESS_MS).toISOString());
      const rollup = await rollupCounts(store, settled);
      assert.ok(rollup.size > 20_000, `only ${rollup.size} minutes below the watermark`);
      assert.deepEqual(sorted(await settledCounts(store, settled)), sorted(rollup));
    } finally {
      await store.close();
    }
  });

  describe('through the sink', () => {
    let store: Store;
    let bus: MemoryBus;
    const all: UserReport[] = [];
    const publish = async (list: readonly UserReport[]) => {
      await bus.publish(
        topics.reports.name,
        list.map((r) => ({ key: r.service, value: JSON.stringify(r), decoded: r })),
      );
      await bus.drain();
    };
    const assertExact = async (what: string) => {
      const { settled } = await settleMarks(store);
      const expected = expectedCounts(all, settled);
      assert.deepEqual(sorted(await rollupCounts(store, settled)), sorted(expected), `${what}: the rollup`);
      assert.deepEqual(sorted(await settledCounts(store, settled)), sorted(expected), `${what}: the settled counts`);
      return settled;
    };

    before(async () => {
      store = await openStore({ kind: 'chdb', dataDir: tmp() });
      await migrate(store);
      const metrics = createMetrics();
      bus = new MemoryBus({ metrics });
      // Every batch may move the watermark (the default paces it to once a second).
      await runSink({ bus, store, logger, metrics, settle: { minIntervalMs: 0 } });
    });
    after(async () => {
      await bus.close();
      await store.close();
    });

    it('settle a normal stream exactly', async () => {
      const first = [...reports('alpha', T0, 60), ...reports('beta', T0, 60)];
      all.push(...first);
      await publish(first);
      const settled = await assertExact('after the first batch');
      assert.equal(new Date(settled).toISOString(), new Date(T0 + 59 * MINUTE - SETTLE_LATENESS_MS).toISOString());
    });

    it('stay exact when a batch is delivered again', async () => {
      const cut = T0 + 30 * MINUTE;
      // When each of alpha's first 30 minutes was last settled (µs), the oldest of them.
      const lastSettled = async () =>
        Number(
          (
            await store.query<{ s: string }>(
              `SELECT min(s) AS s FROM (SELECT minute, toUnixTimestamp64Micro(max(settled_at)) AS s FROM report_counts_settled
               WHERE service = 'alpha' AND minute < fromUnixTimestamp64Milli({cut:Int64}, 'UTC') GROUP BY minute)`,
              { cut },
            )
          )[0]!.s,
        );
      const again = all.filter((r) => Date.parse(r.ts) < cut);
      const before = await settledCounts(store, cut);
      const settledBefore = await lastSettled();
      await publish(again);
      await assertExact('after the redelivery');
      assert.deepEqual(sorted(await settledCounts(store, cut)), sorted(before));
      // The redelivered minutes were settled again, and counted the same.
      assert.ok((await lastSettled()) > settledBefore, 'the redelivered minutes were not settled again');
    });

    it('take in reports that arrive for settled minutes', async () => {
      const { settled } = await settleMarks(store);
      const late: UserReport[] = [
        // Three more for a settled minute of alpha (one by an author already counted there) …
        { id: 'late-1', ts: new Date(T0 + 5 * MINUTE + 30_000).toISOString(), service: 'alpha', channel: 'web', author: 'alpha-user-1' },
        { id: 'late-2', ts: new Date(T0 + 5 * MINUTE + 31_000).toISOString(), service: 'alpha', channel: 'web', author: 'late-author' },
        { id: 'late-3', ts: new Date(T0 + 5 * MINUTE + 32_000).toISOString(), service: 'alpha', channel: 'app' },
        // … a service's first reports, long settled …
        { id: 'late-4', ts: new Date(T0 + 1 * MINUTE).toISOString(), service: 'gamma', channel: 'web' },
        // … and one for the minute just before the watermark, next to a minute that is not settled.
        { id: 'late-5', ts: new Date(settled - MINUTE).toISOString(), service: 'beta', channel: 'web' },
        { id: 'late-6', ts: new Date(settled + MINUTE).toISOString(), service: 'beta', channel: 'web' },
      ];
      const key = (service: string, ms: number) => `${service} ${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}`;
      const beforeLate = await settledCounts(store, settled);
      all.push(...late);
      await publish(late);
      const now = await assertExact('after the late reports');
      assert.equal(now, settled, 'late reports do not move the watermark');
      const after = await settledCounts(store, settled);
      const [n0, p0] = beforeLate.get(key('alpha', T0 + 5 * MINUTE))!.split('/').map(Number);
      assert.equal(after.get(key('alpha', T0 + 5 * MINUTE)), `${n0! + 3}/${p0! + 2}`);
      assert.equal(after.get(key('gamma', T0 + MINUTE)), '1/1');
    });
  });

  it('on a ClickHouse server, take in a late report for minutes another writer settled', async () => {
    // Two writers on one server: this sink, and another settle step that moved the watermark
    // past what this sink has seen. The sink reads the claimed mark after its insert.
    const ch = await startClickHouseHttp(tmp());
    const mine = await openStore({ kind: 'server', url: ch.url });
    const other = await openStore({ kind: 'server', url: ch.url });
    const metrics = createMetrics();
    const bus = new MemoryBus({ metrics });
    try {
      await migrate(mine);
      await runSink({ bus, store: mine, logger, metrics, settle: { minIntervalMs: 0 } });
      const early = reports('alpha', T0, 20);
      const send = async (list: readonly UserReport[]) => {
        await bus.publish(
          topics.reports.name,
          list.map((r) => ({ key: r.service, value: JSON.stringify(r), decoded: r })),
        );
        await bus.drain();
      };
      await send(early);
      assert.equal((await settleMarks(mine)).settled, T0 + 9 * MINUTE);
      const later = reports('alpha', T0 + 20 * MINUTE, 40, 'alpha-later');
      await other.insert('reports', later.map(reportRow));
      await new ReportSettler(other, { logger }).flush();
      const { settled } = await settleMarks(other);
      assert.equal(settled, T0 + 49 * MINUTE);
      const late: UserReport = { id: 'late-on-server', ts: new Date(T0 + 30 * MINUTE + 5_000).toISOString(), service: 'alpha', channel: 'web' };
      await send([late]);
      const expected = expectedCounts([...early, ...later, late], settled);
      assert.deepEqual(sorted(await settledCounts(mine, settled)), sorted(expected));
    } finally {
      await bus.close();
      await mine.close();
      await other.close();
      await ch.close();
    }
  });

  it('leave the report series and the service states as they were', async () => {
    const store = await openStore({ kind: 'chdb', dataDir: tmp() });
    await migrate(store);
    const start = T0 - 3 * 86_400_000;
    const rows = [...reports('alpha', start, 3 * 1440), ...reports('beta', start + 7 * 3_600_000, 3 * 1440 - 420)];
    // Written past the sink, some twice (a redelivery): nothing is settled yet.
    await store.insert('reports', rows.map(reportRow));
    await store.insert('reports', rows.filter((_, i) => i % 5 === 0).map(reportRow));
    assert.equal((await settleMarks(store)).settled, 0);
    const latest = start + (3 * 1440 - 1) * MINUTE;
    const asOf = latest + MINUTE;
    const catalog: Catalog = { services: [{ id: 'alpha', name: 'Alpha' }, { id: 'beta', name: 'Beta', dependsOn: ['alpha'] }] };
    const app = createApiApp({
      store,
      catalog,
      logger,
      metrics: createMetrics(),
      feed: createIncidentFeed(),
      readTokens: [],
      anonymousRead: true,
      ratePerMin: 100_000,
      asOf: async () => asOf,
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const iso = (ms: number) => new Date(ms).toISOString();
    const paths = [
      // across the watermark (settled minutes and the rollup's), its baseline settled
      '/api/v1/services/alpha/series',
      `/api/v1/services/beta/series?from=${iso(latest - 6 * 3_600_000)}&to=${iso(asOf)}&step=60`,
      // only minutes after the watermark today
      `/api/v1/services/alpha/series?from=${iso(latest - 5 * MINUTE)}&to=${iso(asOf)}&step=120`,
      // all settled, and reaching before the first report (no baseline)
      `/api/v1/services/beta/series?from=${iso(start - 3_600_000)}&to=${iso(start + 86_400_000)}&step=900`,
      '/api/v1/services',
    ];
    const answers = async () => {
      const out: unknown[] = [];
      for (const p of paths) {
        const res = await fetch(base + p);
        assert.equal(res.status, 200, `${p}: ${res.status}`);
        out.push(await res.json());
      }
      return out;
    };
    try {
      const unsettled = await answers();
      const settler = new ReportSettler(store, { logger });
      await settler.flush();
      const { settled } = await settleMarks(store);
      assert.equal(settled, latest - SETTLE_LATENESS_MS);
      assert.deepEqual(sorted(await settledCounts(store, settled)), sorted(expectedCounts(rows, settled)));
      assert.deepEqual(await answers(), unsettled);
      // And the series had something to show: reports and baselines in the 24 h default.
      const series = unsettled[0] as { points: { reports: number; baseline: number | null }[] };
      assert.ok(series.points.some((p) => p.reports > 0) && series.points.some((p) => (p.baseline ?? 0) > 0));
    } finally {
      server.close();
      await store.close();
    }
  });

  it('catching up several partitions, do not settle past a partition that still has a backlog', async () => {
    const store = await openStore({ kind: 'chdb', dataDir: tmp() });
    await migrate(store);
    let wall = T0 + 24 * 60 * MINUTE;
    const settler = new ReportSettler(store, { logger, minIntervalMs: 0, now: () => wall });
    const stored: UserReport[] = [];
    const store1 = async (list: UserReport[], source: { key: string; behind: boolean }) => {
      const rows = list.map(reportRow);
      await store.insert('reports', rows);
      stored.push(...list);
      await settler.stored(rows, source);
    };
    const watermark = async () => (await settleMarks(store)).settled;
    try {
      // Partition 0 has reached T0+30, partition 1 T0+120, both with more waiting.
      await store1(reports('alpha', T0, 30), { key: 'reports|0', behind: true });
      await store1(reports('beta', T0, 120), { key: 'reports|1', behind: true });
      assert.equal(await watermark(), T0 + 29 * MINUTE - SETTLE_LATENESS_MS, 'held at the slower partition');
      // Partition 0 catches up: now partition 1, still behind, bounds it.
      await store1(reports('alpha', T0 + 30 * MINUTE, 100, 'alpha-b'), { key: 'reports|0', behind: false });
      assert.equal(await watermark(), T0 + 119 * MINUTE - SETTLE_LATENESS_MS);
      // Partition 1 reads further while partition 0 stays behind at T0+129 and goes silent.
      await store1(reports('alpha', T0 + 130 * MINUTE, 5, 'alpha-c'), { key: 'reports|0', behind: true });
      await store1(reports('beta', T0 + 120 * MINUTE, 60, 'beta-b'), { key: 'reports|1', behind: false });
      assert.equal(await watermark(), T0 + 134 * MINUTE - SETTLE_LATENESS_MS, 'held at the silent partition while it may still deliver');
      wall += SETTLE_SOURCE_SILENCE_MS + 1;
      await store1(reports('beta', T0 + 180 * MINUTE, 1, 'beta-c'), { key: 'reports|1', behind: false });
      assert.equal(await watermark(), T0 + 180 * MINUTE - SETTLE_LATENESS_MS, 'a partition not heard from holds nothing');
      const settled = await watermark();
      assert.deepEqual(sorted(await settledCounts(store, settled)), sorted(expectedCounts(stored, settled)));
    } finally {
      await store.close();
    }
  });
});

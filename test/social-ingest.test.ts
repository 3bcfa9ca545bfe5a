/**
 * The social ingest with the real `twitter-api-v2` client against a local server speaking the X
 * API v2: rule sync, a stream with posts and keep-alives, a dropped connection, recovery with a
 * backfill by recent search, and a restart that backfills what was posted while it was down.
 * Every complaint and status post must arrive exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StatusPost, UserReport } from '../schemas/contracts.ts';
import { topics } from '../schemas/topics.ts';
import { MemoryBus } from '../lib/bus/memory-bus.ts';
import { loadCatalog } from '../lib/catalog.ts';
import { createLogger } from '../lib/log.ts';
import { createMetrics } from '../lib/metrics.ts';
import { MemoryCursor, SocialIngest } from '../services/social-ingest/ingest.ts';
import { buildRules } from '../services/social-ingest/rules.ts';
import { xClient } from '../services/social-ingest/x-client.ts';
import { FakeXApi, type FakePost } from './helpers/x-api.ts';
import { waitFor } from './helpers/kafka.ts';

const catalog = loadCatalog('examples/teams-2020-02-03/catalog.yaml');
const TOKEN = 'x-bearer-test';
let n = 0;
const post = (username: string, text: string): FakePost => ({ id: String(1224346543118864385n + BigInt(++n)), text, username, createdAt: `2020-02-03T13:4${n % 10}:00.000Z` });

describe('social ingest against a local X API', () => {
  const api = new FakeXApi(TOKEN, [
    { id: '1', value: 'from:SomeoneElse', tag: 'marketing:brand' },
    { id: '2', value: '"old product" -is:retweet', tag: 'outage:svc:retired' },
  ]);
  const bus = new MemoryBus();
  const reports: UserReport[] = [];
  const posts: StatusPost[] = [];
  const cursor = new MemoryCursor();
  const make = () =>
    new SocialIngest({
      v2: xClient(TOKEN, api.base),
      bus,
      catalog,
      logger: createLogger('test', 'silent'),
      metrics: createMetrics(),
      cursor,
      tagPrefix: 'outage:',
      keepAliveTimeoutMs: 5_000,
      retryDelayMs: () => 200,
    });

  before(async () => {
    await api.start();
    await bus.subscribe({
      group: 't',
      topics: [topics.reports.name, topics.posts.name],
      eachBatch: async (b) => {
        for (const m of b) (m.topic === topics.reports.name ? reports : posts).push(JSON.parse(String(m.value)));
      },
    });
  });
  after(() => api.stop());

  it('syncs the rules, reads the stream through a drop and a restart, and loses or doubles no post', async () => {
    const ingest = make();
    await ingest.start();
    // Rules: ours added, our stale one deleted, someone else's left alone.
    const tags = [...api.rules.values()].map((r) => r.tag).sort();
    assert.deepEqual(tags, ['marketing:brand', ...buildRules(catalog, 'outage:').map((r) => r.tag)].sort());
    await waitFor(async () => api.openStreams === 1, 10_000, () => 'no stream connection');

    const p1 = post('alice', 'microsoft teams is down again, cannot join my 2pm call #teamsdown');
    const p2 = post('coach_bob', 'what a match, both teams played great tonight');
    const p3 = post('MSFT365Status', "We've determined that an authentication certificate has expired causing users to have issues using Microsoft Teams. TM202916");
    api.push(p1);
    api.keepAlive();
    api.push(p2);
    api.push(p3);
    await waitFor(async () => (await ingest.idle(), ingest.counts.complaint + ingest.counts.other + ingest.counts.status === 3), 10_000, () => JSON.stringify(ingest.counts));

    // The connection drops; two posts appear while nobody listens.
    api.dropStreams();
    const p4 = post('dan', 'zoom down? keeps disconnecting me from every meeting');
    const p5 = post('erin', 'anyone else getting an error in outlook down since lunch');
    api.publishOffline(p4);
    api.publishOffline(p5);
    await waitFor(async () => api.openStreams === 1 && api.connections >= 2, 15_000, () => `reconnected: ${api.connections}`);
    // After the reconnect the stream repeats a post and goes on.
    const p6 = post('fay', 'slack down for anyone? messages not sending');
    api.push(p5);
    api.push(p6);
    await waitFor(async () => (await ingest.idle(), reports.length >= 4), 15_000, () => `reports: ${reports.map((r) => r.id).join(', ')}`);
    await ingest.stop();

    // A restart backfills what was posted while the process was down.
    const p7 = post('gus', "can't log in to microsoft teams at all, AADSTS error");
    api.publishOffline(p7);
    const again = make();
    await again.start();
    await waitFor(async () => (await again.idle(), reports.length >= 5), 15_000, () => `reports: ${reports.map((r) => r.id).join(', ')}`);
    await again.stop();
    await bus.drain();

    assert.deepEqual(reports.map((r) => [r.id, r.service, r.channel, r.author]), [
      [`x-${p1.id}`, 'teams', 'social', 'alice'],
      [`x-${p4.id}`, 'zoom', 'social', 'dan'],
      [`x-${p5.id}`, 'outlook', 'social', 'erin'],
      [`x-${p6.id}`, 'slack', 'social', 'fay'],
      [`x-${p7.id}`, 'teams', 'social', 'gus'],
    ]);
    assert.equal(reports[4]!.problem, 'login');
    assert.equal(reports[0]!.url, `https://x.com/alice/status/${p1.id}`);
    assert.deepEqual(posts.map((p) => [p.id, p.service, p.account]), [[`x-${p3.id}`, 'teams', 'MSFT365Status']]);
    assert.deepEqual((posts[0] as unknown as { incidentIds: string[] }).incidentIds, ['TM202916']);
    assert.deepEqual((posts[0] as unknown as { causeWords: string[] }).causeWords, ['authentication', 'certificate', 'expired']);
    assert.ok(api.searches.some((s) => s.sinceId === p3.id), 'the gap was searched from the last post seen');
  });
});

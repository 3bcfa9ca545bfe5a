/**
 * The social ingest as its own process. It needs X_BEARER_TOKEN; without one, social posts enter
 * the pipeline only through a replay's `posts.ndjson`.
 */
import { loadCatalog } from '../../lib/catalog.ts';
import { ConfigError } from '../../lib/config.ts';
import { kafkaBus, runService } from '../../lib/runtime.ts';
import { FileCursor, SocialIngest } from './ingest.ts';
import { xClient } from './x-client.ts';

await runService('social-ingest', async (rt) => {
  if (!rt.env.X_BEARER_TOKEN) throw new ConfigError('X_BEARER_TOKEN is not set: the social ingest reads the X API v2 filtered stream (replays take posts.ndjson instead)');
  const ingest = new SocialIngest({
    v2: xClient(rt.env.X_BEARER_TOKEN, rt.env.X_API_PREFIX),
    bus: await kafkaBus(rt, 'social-ingest'),
    catalog: loadCatalog(rt.env.CATALOG),
    logger: rt.logger,
    metrics: rt.metrics,
    cursor: new FileCursor(rt.env.X_CURSOR_FILE),
    tagPrefix: rt.env.X_RULE_TAG_PREFIX,
    leaveOtherRules: rt.env.X_LEAVE_OTHER_RULES === 'true',
  });
  await ingest.start();
  rt.onStop(() => ingest.stop());
});

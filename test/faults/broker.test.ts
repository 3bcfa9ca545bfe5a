/**
 * Fault suite: the broker killed with `kill -9` mid-stream and started again on the same log
 * directory, while `outage publish` sends the Teams example and the correlator and sink processes
 * consume it. The broker is one of this test's own (same jars and settings as the suite's, free
 * ports), so killing it leaves the suite's broker alone. Nothing is lost or doubled, the incidents
 * are the embedded replay's, and the recovery time (kill → caught up) is printed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBroker, type Broker } from '../kafka/broker.ts';
import { brokersOrSkip } from '../helpers/kafka.ts';
import { EXAMPLE, FaultRun, SEEDS, seeded, embeddedIncidents, judge, readInputs, summary, until, type IncidentView } from './harness.ts';

const tmp = mkdtempSync(join(tmpdir(), 'outage-faults-broker-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const inputs = readInputs(EXAMPLE);
let reference: IncidentView[] = [];

describe('faults: broker kill -9 and restart', { timeout: 240_000 }, () => {
  before(async () => {
    if (process.env.TEST_KAFKA_BROKERS) reference = await embeddedIncidents(EXAMPLE, join(tmp, 'embedded'));
  });

  it('killed mid-stream and restarted on the same log directory: publisher, correlator and sink carry on, nothing lost or doubled', async (t) => {
    // The suite's broker says whether Kafka runs here (and CI=true fails without it).
    if (!brokersOrSkip(t)) return;
    let broker: Broker | undefined;
    let run: FaultRun | undefined;
    try {
      broker = await startBroker();
      run = new FaultRun(broker.brokers, tmp, 'broker');
      const rng = seeded(SEEDS[0]!);
      // A point among the published input messages, 20 % to 80 % in.
      const killAt = Math.floor((0.2 + 0.6 * rng()) * inputs.inputMessages);
      const correlator = await run.start('correlator');
      const sink = await run.start('sink');
      const publish = run.publishInBackground(EXAMPLE);
      let onTopics = 0;
      await until(async () => (onTopics = await run!.ends(['reports', 'posts', 'probes'])) >= killAt, 60_000, () => `${onTopics} published of ${killAt}`, 10);
      const [sinkAt, correlatorAt] = [await run.committed('sink'), await run.committed('correlator')];
      const killedAt = performance.now();
      await broker.kill();
      await run.dropAdmin(); // reconnected after the restart
      await broker.restart();
      const backMs = performance.now() - killedAt;
      const published = await publish.done;
      await run.waitCaughtUp(120_000);
      const recoveryMs = performance.now() - killedAt;
      for (const s of [correlator, sink]) assert.equal(s.proc.exitCode, null, `${s.name} exited`);
      const stored = await run.finish();
      console.log(
        `broker kill -9 with ${onTopics} of ${inputs.inputMessages} input messages published (sink had committed ${sinkAt}, correlator ${correlatorAt}); ` +
          `broker back in ${(backMs / 1000).toFixed(1)} s; recovery (kill → caught up) ${(recoveryMs / 1000).toFixed(1)} s; ${/published .*/.exec(published)?.[0] ?? published.trim()}; stored: ${summary(stored)}`,
      );
      assert.ok(onTopics < inputs.inputMessages, 'the kill landed while the publisher was still sending');
      run.expectRight(judge(stored, inputs, reference, [], 11));
    } finally {
      await run?.close();
      await broker?.stop();
    }
  });
});

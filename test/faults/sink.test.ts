/**
 * Fault suite: the sink killed with SIGKILL at seeded random points while the Teams example is
 * published through the suite's broker, then started again. Nothing is lost, nothing doubled, the
 * incidents are the embedded replay's, and the recovery time (kill → caught up) is printed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brokersOrSkip } from '../helpers/kafka.ts';
import { EXAMPLE, FaultRun, SEEDS, seeded, embeddedIncidents, judge, readInputs, summary, until, type IncidentView } from './harness.ts';

const tmp = mkdtempSync(join(tmpdir(), 'outage-faults-sink-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const inputs = readInputs(EXAMPLE);
let reference: IncidentView[] = [];

describe('faults: sink SIGKILL', { timeout: 300_000 }, () => {
  before(async () => {
    if (process.env.TEST_KAFKA_BROKERS) reference = await embeddedIncidents(EXAMPLE, join(tmp, 'embedded'));
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: killed after a random number of stored rows, restarted: N in, N stored once, the embedded replay's incidents`, async (t) => {
      const brokers = brokersOrSkip(t);
      if (!brokers) return;
      const run = new FaultRun(brokers, tmp, `sink-${seed}`);
      try {
        const rng = seeded(seed);
        // A point among the sink's stored input rows (its committed offsets), 5 % to 90 % in.
        const killAfter = Math.floor((0.05 + 0.85 * rng()) * inputs.inputMessages);
        await run.start('correlator');
        const sink = await run.start('sink');
        const publish = run.publishInBackground(EXAMPLE);
        let atKill = 0;
        await until(async () => (atKill = await run.committed('sink')) >= killAfter, 120_000, () => `sink at ${atKill} of ${killAfter}\n${sink.logs()}`, 10);
        const killedAt = performance.now();
        await run.kill(sink);
        const restarted = await run.start('sink');
        const readyMs = performance.now() - killedAt;
        await publish.done;
        await run.waitCaughtUp();
        const recoveryMs = performance.now() - killedAt;
        assert.equal(restarted.proc.exitCode, null);
        const stored = await run.finish();
        console.log(
          `sink SIGKILL seed ${seed}: killed at ${atKill} of ${inputs.inputMessages} input messages committed (aimed at ${killAfter}); ` +
            `restarted and ready in ${(readyMs / 1000).toFixed(1)} s; recovery (kill → caught up) ${(recoveryMs / 1000).toFixed(1)} s; stored: ${summary(stored)}`,
        );
        assert.ok(atKill < inputs.inputMessages, 'the kill landed before the sink had stored everything');
        run.expectRight(judge(stored, inputs, reference, [], 11));
      } finally {
        await run.close();
      }
    });
  }
});

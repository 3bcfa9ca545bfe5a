/**
 * Fault suite: the correlator killed with SIGKILL at seeded random points (mid-stream while the
 * Teams example is published, and once while its incident is open), and a second correlator
 * instance in the same group killed during the rebalance its arrival started. After each, the
 * incidents are exactly the embedded replay's (ids, detectedAt, resolvedAt, first hint and its
 * certificate), every event is stored once, and the recovery time (kill → caught up) is printed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brokersOrSkip } from '../helpers/kafka.ts';
import { EXAMPLE, FaultRun, SEEDS, seeded, embeddedIncidents, judge, readInputs, splitScenario, summary, until, type IncidentView } from './harness.ts';

const tmp = mkdtempSync(join(tmpdir(), 'outage-faults-correlator-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const inputs = readInputs(EXAMPLE);
let reference: IncidentView[] = [];
const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('faults: correlator SIGKILL and a rebalance', { timeout: 300_000 }, () => {
  before(async () => {
    if (process.env.TEST_KAFKA_BROKERS) reference = await embeddedIncidents(EXAMPLE, join(tmp, 'embedded'));
  });

  for (const seed of SEEDS.slice(0, -1)) {
    it(`seed ${seed}: killed mid-stream after a random number of committed input messages, restarted: the embedded replay's incidents`, async (t) => {
      const brokers = brokersOrSkip(t);
      if (!brokers) return;
      const run = new FaultRun(brokers, tmp, `correlator-${seed}`);
      try {
        const killAfter = Math.floor((0.05 + 0.85 * seeded(seed)()) * inputs.inputMessages);
        await run.start('sink');
        const correlator = await run.start('correlator');
        const publish = run.publishInBackground(EXAMPLE);
        let atKill = 0;
        await until(async () => (atKill = await run.committed('correlator')) >= killAfter, 120_000, () => `correlator at ${atKill} of ${killAfter}\n${correlator.logs()}`, 10);
        const killedAt = performance.now();
        await run.kill(correlator);
        await run.start('correlator');
        const readyMs = performance.now() - killedAt;
        await publish.done;
        await run.waitCaughtUp();
        const recoveryMs = performance.now() - killedAt;
        const stored = await run.finish();
        console.log(
          `correlator SIGKILL seed ${seed}: killed at ${atKill} of ${inputs.inputMessages} input messages committed (aimed at ${killAfter}); ` +
            `restarted and ready in ${seconds(readyMs)}; recovery (kill → caught up) ${seconds(recoveryMs)}; stored: ${summary(stored)}`,
        );
        assert.ok(atKill < inputs.inputMessages, 'the kill landed before the correlator had read everything');
        run.expectRight(judge(stored, inputs, reference, [], 11));
      } finally {
        await run.close();
      }
    });
  }

  const openSeed = SEEDS.at(-1)!;
  it(`seed ${openSeed}: killed while an incident is open, restarted: it resolves as in the embedded replay`, async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const run = new FaultRun(brokers, tmp, `correlator-open-${openSeed}`);
    try {
      // A point in event time inside the first incident of the reference, open then.
      const first = reference[0]!;
      assert.ok(first.resolvedAt !== null, 'the reference incident resolves');
      const cut = first.detectedAt + 60_000 + Math.floor(seeded(openSeed)() * (first.resolvedAt - first.detectedAt - 120_000));
      const { a, b } = splitScenario(inputs, iso(cut), join(tmp, `split-${openSeed}`));
      await run.start('sink');
      const correlator = await run.start('correlator');
      await run.publish(a);
      await until(async () => (await run.caughtUp()) && (await run.openIncidents(correlator)) >= 1, 120_000, () => `no open incident after ${iso(cut)}\n${correlator.logs()}`);
      const atKill = await run.committed('correlator');
      const killedAt = performance.now();
      await run.kill(correlator);
      // Traffic goes on while it is down.
      const publish = run.publishInBackground(b);
      await run.start('correlator');
      await publish.done;
      await run.waitCaughtUp();
      const recoveryMs = performance.now() - killedAt;
      const stored = await run.finish();
      console.log(
        `correlator SIGKILL seed ${openSeed} with incident ${first.id} open: killed at event time ${iso(cut)} (${atKill} input messages committed); ` +
          `recovery (kill → caught up) ${seconds(recoveryMs)}; stored: ${summary(stored)}`,
      );
      run.expectRight(judge(stored, inputs, reference, [], 11));
    } finally {
      await run.close();
    }
  });

  it('a second instance joins, the first is killed during that rebalance: its partitions and their state move, the embedded replay’s incidents', async (t) => {
    const brokers = brokersOrSkip(t);
    if (!brokers) return;
    const run = new FaultRun(brokers, tmp, 'rebalance');
    try {
      const first = reference[0]!;
      // The first instance reads up to a point before the incident, the rest arrives while the
      // second joins and the first dies.
      const cut = first.detectedAt - 30 * 60_000;
      const { a, b } = splitScenario(inputs, iso(cut), join(tmp, 'split-rebalance'));
      await run.start('sink');
      const one = await run.start('correlator');
      await run.publish(a);
      await run.waitCaughtUp();
      const admin = await run.admin();
      const group = `${run.prefix}correlator`;
      const publish = run.publishInBackground(b);
      const joining = run.spawnService('correlator');
      let state = '';
      await until(async () => !['Stable', ''].includes((state = (await admin.describeGroups([group])).groups[0]?.state ?? '')), 60_000, () => `group state ${state}`, 20);
      const killedAt = performance.now();
      await run.kill(one);
      const two = await joining;
      await publish.done;
      await run.waitCaughtUp();
      const recoveryMs = performance.now() - killedAt;
      const members = (await admin.describeGroups([group])).groups[0]!.members.length;
      assert.equal(two.proc.exitCode, null);
      const stored = await run.finish();
      console.log(`rebalance: first instance killed in group state ${state}; recovery (kill → caught up, one member left: ${members}) ${seconds(recoveryMs)}; stored: ${summary(stored)}`);
      assert.equal(members, 1);
      run.expectRight(judge(stored, inputs, reference, [], 11));
    } finally {
      await run.close();
    }
  });
});

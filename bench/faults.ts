/**
 * The fault part of `npm run bench`: recovery times and throughput through faults, on a broker of
 * its own (test/kafka/broker.ts) with the correlator and sink as separate processes, using the
 * fault suite's harness (test/faults/harness.ts) on the bundled Teams example (71 k events):
 *   - undisturbed: `outage publish` with both services running, from the first message sent to
 *     both groups having committed the end of every topic (end-to-end events/s);
 *   - the same with the broker killed (`kill -9`) once 40 % of the input is on the topics and
 *     started again on the same log directory: end-to-end events/s, and kill → caught up;
 *   - correlator SIGKILL, and sink SIGKILL, half-way through the input: kill → caught up (the
 *     restarted process waits out the dead member's 10 s session before its group rebalances).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type Broker } from '../test/kafka/broker.ts';
import { EXAMPLE, FaultRun, readInputs, until } from '../test/faults/harness.ts';

export interface FaultBenchRow {
  fault: string;
  events: number;
  /** Seconds from the first message published to caught up. */
  seconds: number;
  /** Seconds from the kill to caught up. */
  recoverySeconds?: number;
}

export async function faultBench(log: (s: string) => void): Promise<{ scenario: string; rows: FaultBenchRow[] }> {
  const inputs = readInputs(EXAMPLE);
  const events = inputs.inputMessages;
  const tmp = mkdtempSync(join(tmpdir(), 'outage-bench-faults-'));
  let broker: Broker | undefined;
  const rows: FaultBenchRow[] = [];
  /** One run: both services ready, the example published in the background, `fault` injected, caught up. */
  const once = async (name: string, fault?: (run: FaultRun) => Promise<number>): Promise<FaultBenchRow> => {
    const run = new FaultRun(broker!.brokers, tmp, name);
    try {
      await run.start('correlator');
      await run.start('sink');
      const started = performance.now();
      const publish = run.publishInBackground(EXAMPLE);
      const killedAt = fault ? await fault(run) : undefined;
      await publish.done;
      await run.waitCaughtUp(300_000);
      const now = performance.now();
      return { fault: name, events, seconds: (now - started) / 1000, ...(killedAt !== undefined ? { recoverySeconds: (now - killedAt) / 1000 } : {}) };
    } finally {
      await run.close();
      rmSync(run.dataDir, { recursive: true, force: true });
    }
  };
  const at = async (what: () => Promise<number>, n: number) => {
    await until(async () => (await what()) >= n, 300_000, () => `never reached ${n}`, 10);
  };
  try {
    broker = await startBroker({ log });
    log('faults: undisturbed run …');
    rows.push(await once('undisturbed (publish → caught up)'));
    log('faults: broker kill -9 and restart …');
    rows.push(
      await once('broker kill -9 at 40 % published, restarted', async (run) => {
        await at(() => run.ends(['reports', 'posts', 'probes']), Math.floor(events * 0.4));
        const t = performance.now();
        await broker!.kill();
        await run.dropAdmin();
        await broker!.restart();
        return t;
      }),
    );
    for (const service of ['correlator', 'sink'] as const) {
      log(`faults: ${service} SIGKILL …`);
      rows.push(
        await once(`${service} SIGKILL at 50 % committed, restarted`, async (run) => {
          await at(() => run.committed(service), Math.floor(events * 0.5));
          const t = performance.now();
          const victim = run.service(service);
          await run.kill(victim);
          await run.start(service);
          return t;
        }),
      );
    }
    return { scenario: `the bundled Teams example (${events.toLocaleString('en-US')} input events)`, rows };
  } finally {
    await broker?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

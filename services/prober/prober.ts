/**
 * The prober service: checks every catalog endpoint on its interval from one region, publishes a
 * ProbeResult per check and a CertObservation (`source: probe`) for each certificate of a chain
 * the first time an endpoint presents it (and again daily, so the inventory stays fresh).
 */
import type { CertObservation, ProbeResult } from '../../schemas/contracts.ts';
import { certKey, topics } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import { endpointsOf, type Catalog } from '../../lib/catalog.ts';
import { daysLeft, earliestExpiry } from '../../lib/certs/facts.ts';
import type { Logger } from '../../lib/log.ts';
import { runProbe, specFor, type ProbeOutcome, type ProbeSpec } from './probes/index.ts';
import type { ProberMetrics } from './metrics.ts';
import { parseTarget } from './probes/common.ts';

export interface ProberDefaults {
  region: string;
  intervalS: number;
  timeoutMs: number;
  /** Extra trusted roots (PEM). */
  ca?: string;
}

export interface ScheduledProbe {
  spec: ProbeSpec;
  intervalMs: number;
}

/** Every endpoint of the catalog as a check, per-endpoint settings over the defaults. */
export function scheduleOf(catalog: Catalog, d: ProberDefaults): ScheduledProbe[] {
  return catalog.services.flatMap((svc) =>
    endpointsOf(svc).map((e) => ({
      spec: specFor(e.url, svc.id, {
        region: d.region,
        timeoutMs: e.timeoutMs ?? d.timeoutMs,
        ...(e.expectStatus !== undefined ? { expectStatus: e.expectStatus } : {}),
        ...(e.bodyMatch ? { bodyMatch: e.bodyMatch } : {}),
        ...(e.servername ? { servername: e.servername } : {}),
        ...(e.ip ? { ipOverride: e.ip } : {}),
        ...(d.ca ? { ca: d.ca } : {}),
      }),
      intervalMs: (e.intervalS ?? d.intervalS) * 1000,
    })),
  );
}

/** The observations of a presented chain, one per certificate, at the endpoint it was seen on. */
export function chainObservations(outcome: ProbeOutcome): CertObservation[] {
  const { result, chain } = outcome;
  const endpoint = parseTarget(result.target).endpoint;
  return chain.map((facts) => ({ ts: result.ts, source: 'probe', ...facts, endpoint, service: result.service }));
}

export interface ProberDeps {
  bus: Bus;
  logger: Logger;
  metrics: ProberMetrics;
  now?: () => number;
}

const REPUBLISH_MS = 86_400_000;

export class Prober {
  private readonly published = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly deps: ProberDeps) {}

  /** Runs one check and publishes what it found. */
  async check(spec: ProbeSpec): Promise<ProbeResult> {
    const now = this.deps.now ?? Date.now;
    const outcome = await runProbe(spec, { now });
    const { result, chain } = outcome;
    const earliest = earliestExpiry(chain);
    this.deps.metrics.observe(result, earliest === undefined ? undefined : daysLeft(Date.parse(earliest), now()));
    await this.deps.bus.publish(topics.probes.name, [{ key: result.service, value: JSON.stringify(result) }]);
    const chainKey = `${result.target}|${chain.map((c) => c.sha256).join(',')}`;
    const last = this.published.get(chainKey);
    if (chain.length > 0 && (last === undefined || now() - last > REPUBLISH_MS)) {
      const obs = chainObservations(outcome);
      await this.deps.bus.publish(topics.certs.name, obs.map((o) => ({ key: certKey(o), value: JSON.stringify(o) })));
      this.published.set(chainKey, now());
    }
    if (!result.ok) this.deps.logger.info({ probe: result.probe, target: result.target, code: result.error?.code }, result.error?.message ?? 'check failed');
    return result;
  }

  /** Starts every check on its interval, spread over the first interval so they do not fire together. */
  start(schedule: ScheduledProbe[]): void {
    schedule.forEach(({ spec, intervalMs }, i) => {
      const run = () => void this.check(spec).catch((err: unknown) => this.deps.logger.error({ err, target: spec.target }, 'publishing a check failed'));
      const first = setTimeout(() => {
        run();
        this.timers.push(setInterval(run, intervalMs));
      }, Math.round((intervalMs * i) / Math.max(1, schedule.length)));
      this.timers.push(first);
    });
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
  }
}

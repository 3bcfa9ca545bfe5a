/** The prober's own metrics, derived from results (probes themselves never touch metrics). */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { ProbeResult } from '../../schemas/contracts.ts';

export interface ProberMetrics {
  observe(result: ProbeResult, certDaysLeft?: number): void;
}

export function createProberMetrics(registry: Registry): ProberMetrics {
  const registers = [registry];
  const success = new Gauge({ name: 'outage_probe_success', help: '1 when the last check passed', labelNames: ['probe', 'region'], registers });
  const duration = new Histogram({
    name: 'outage_probe_duration_seconds',
    help: 'Check duration by phase',
    labelNames: ['probe', 'phase'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const daysLeft = new Gauge({ name: 'outage_probe_cert_days_left', help: 'Days until the earliest expiry in the served chain', labelNames: ['probe', 'region'], registers });
  return {
    observe(r, certDaysLeft) {
      const labels = { probe: r.probe, region: r.region ?? '' };
      success.set(labels, r.ok ? 1 : 0);
      duration.observe({ probe: r.probe, phase: 'total' }, r.durationMs / 1000);
      for (const [phase, ms] of Object.entries(r.phases ?? {})) duration.observe({ probe: r.probe, phase: phase.replace(/Ms$/, '') }, (ms as number) / 1000);
      if (certDaysLeft !== undefined) daysLeft.set(labels, certDaysLeft);
    },
  };
}

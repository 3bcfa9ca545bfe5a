/**
 * A seeded sweep of generated incident scenarios (`services/correlator/labelled-scenarios.ts`) through the
 * correlator core, asserting rates rather than one hand-picked shape: the right certificate first
 * on certificate-caused incidents, no certificate blamed on controls, few false alarms per
 * series-day, and hints whose confidence is not far from how often they are right. The
 * hand-written corpus (`test/scenarios.test.ts`) stays as regressions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { incidentScenario, VARIANTS } from '../services/correlator/labelled-scenarios.ts';
import { rates, reliability, runScenario, sweep } from '../bench/calibration.ts';

describe('generated incident scenarios', () => {
  it('same seed, same scenario', () => {
    const a = incidentScenario(5);
    const b = incidentScenario(5);
    assert.equal(a.events.length, b.events.length);
    assert.deepEqual(a.truth, b.truth);
    assert.deepEqual(a.events.slice(0, 50), b.events.slice(0, 50));
  });

  it('every variant carries its label', () => {
    for (const [i, variant] of VARIANTS.entries()) {
      const s = incidentScenario(900 + i, { variant, maxHistoryDays: 1 });
      const t = s.truth['svc-a'];
      assert.ok(t, variant);
      assert.equal(t.certs.length > 0, !variant.startsWith('control_'), variant);
      runScenario(s);
    }
  });

  it('a seeded sweep: right first hint, clean controls, few false alarms', () => {
    const sw = sweep(48, 7);
    const r = rates(sw.results);
    assert.ok(r.certIncidents >= 10, `too few certificate incidents to judge: ${r.certIncidents}`);
    assert.ok(r.certFirstRight / r.certIncidents >= 0.75, `right first hint on ${r.certFirstRight}/${r.certIncidents} certificate incidents`);
    assert.equal(r.controlBlamed, 0, `${r.controlBlamed}/${r.controlIncidents} controls blame a certificate at ≥ 0.5`);
    assert.ok(r.falseAlarms / r.serviceDays <= 0.02, `${r.falseAlarms} false alarms in ${r.serviceDays.toFixed(0)} service-days`);
    // The certificate causes are asserted where they are right: confident hints are right as often as they claim, roughly.
    const blame = sw.results.flatMap((x) => x.judged).filter((j) => ['cert_expired', 'chain_expired', 'cert_not_yet_valid'].includes(j.kind) && j.confidence >= 0.5);
    const rel = reliability(blame);
    const claimed = blame.reduce((s, j) => s + j.confidence, 0) / Math.max(1, blame.length);
    assert.ok(rel.base >= claimed - 0.15, `certificate hints at ≥ 0.5 claim ${claimed.toFixed(2)} and are right ${rel.base.toFixed(2)} of the time`);
  });
});

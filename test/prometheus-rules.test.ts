/**
 * The Prometheus rules file (deploy/prometheus/outage-rules.yml): `promtool check rules` accepts it,
 * `promtool test rules` passes its unit tests (every alert fires on the series that should raise
 * it and stays quiet otherwise), and every metric a rule reads is one the services declare.
 * promtool comes from Debian's `prometheus` package (test/run.sh installs it); with CI=true a
 * missing promtool fails the test, elsewhere the promtool checks say why and are skipped.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { parse } from 'yaml';

const DIR = 'deploy/prometheus';

function promtool(t: TestContext): string | undefined {
  const found = spawnSync('promtool', ['--version'], { stdio: 'ignore' });
  if (found.status === 0) return 'promtool';
  assert.ok(process.env.CI !== 'true', 'promtool is not installed (test/run.sh installs Debian\'s prometheus package)');
  t.diagnostic('promtool not installed: not run (it runs in CI)');
  return undefined;
}

describe('Prometheus rules', () => {
  it('promtool check rules accepts the file', (t) => {
    const cli = promtool(t);
    if (!cli) return;
    const out = execFileSync(cli, ['check', 'rules', 'outage-rules.yml'], { cwd: DIR, encoding: 'utf8' });
    assert.match(out, /SUCCESS: 10 rules found/);
  });

  it('promtool test rules passes the unit tests of every alert', (t) => {
    const cli = promtool(t);
    if (!cli) return;
    const run = spawnSync(cli, ['test', 'rules', 'outage-rules.test.yml'], { cwd: DIR, encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /SUCCESS/);
  });

  it('alerts for certificates, probes and a stalled pipeline, each tested, on metrics the services declare', () => {
    const file = parse(readFileSync(`${DIR}/outage-rules.yml`, 'utf8')) as { groups: { name: string; rules: { alert: string; expr: string }[] }[] };
    const rules = file.groups.flatMap((g) => g.rules);
    for (const alert of ['OutageCertificateExpiringSoon', 'OutageCertificateExpired', 'OutageCertificateNotYetValid', 'OutageProbeDown', 'OutageConsumerLagGrowing', 'OutageConsumerDown', 'OutageDeadLetters'])
      assert.ok(rules.some((r) => r.alert === alert), alert);
    const tests = parse(readFileSync(`${DIR}/outage-rules.test.yml`, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const firing = new Set(tests.tests.flatMap((x) => x.alert_rule_test).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname));
    for (const r of rules) assert.ok(firing.has(r.alert), `${r.alert} has a test where it fires`);
    const declared = ['lib/metrics.ts', 'services/prober/metrics.ts', 'services/cert-inventory/metrics.ts'].map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const r of rules)
      for (const metric of r.expr.match(/outage_\w+/g) ?? []) assert.ok(declared.includes(`'${metric}'`), `${r.alert} reads ${metric}, which no service declares`);
  });
});

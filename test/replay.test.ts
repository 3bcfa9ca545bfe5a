/**
 * The main job as a user runs it: `outage replay` on the bundled example, through the real
 * services over the embedded bus into a real chDB data directory, then queried back.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import type { Incident } from '../schemas/contracts.ts';
import { check } from '../schemas/decode.ts';
import { assertExpected, loadExpected } from './helpers/expected.ts';

const run = promisify(execFile);
const EXAMPLE = 'examples/teams-2020-02-03';
const tmp = mkdtempSync(join(tmpdir(), 'outage-replay-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function outage(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['bin/outage.js', ...args], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LOG_LEVEL: 'warn' } });
}

function parseIncidents(stdout: string): Incident[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const r = check('Incident', JSON.parse(line));
      assert.ok(r.ok, `not a valid Incident: ${!r.ok && r.detail}: ${line.slice(0, 200)}`);
      return r.value;
    });
}

describe('outage replay on the bundled Teams example', () => {
  const dataDir = join(tmp, 'chdb');
  let first: Incident[] = [];

  it('prints only valid Incident lines on stdout with --format ndjson, matching expected.yaml', async () => {
    const { stdout, stderr } = await outage(['replay', EXAMPLE, '--format', 'ndjson', '--data-dir', dataDir]);
    first = parseIncidents(stdout);
    assertExpected(first, loadExpected(join(EXAMPLE, 'expected.yaml')), EXAMPLE);
    assert.equal(stderr, '');
  });

  it('the readable summary names the certificate, its sha256, its expiry and the dependency path', async () => {
    const { stdout } = await outage(['replay', EXAMPLE, '--data-dir', dataDir]);
    const top = first[0]!.hints[0]!;
    assert.match(stdout, /teams-20200203T1340Z\s+teams\s+\[resolved\]/);
    assert.ok(stdout.includes(`certificate teams-auth-token-signing (CN=teams-auth-token-signing, sha256 ${top.certSha256!.slice(0, 12)}…) expired at 13:31 UTC`), stdout);
    assert.ok(stdout.includes('bound to m365-auth, which teams depends on (teams → m365-auth)'));
    assert.match(stdout, /cert_expired \d+% \(likely cause\)/);
  });

  it('leaves the rows in the chDB data directory, queryable afterwards', async () => {
    const lines = (f: string) => readFileSync(join(EXAMPLE, f), 'utf8').trim().split('\n').length;
    const reports = gunzipSync(readFileSync(join(EXAMPLE, 'reports.ndjson.gz'))).toString('utf8').trim().split('\n').length;
    const q = async (sql: string) => JSON.parse((await outage(['sql', sql, '--data-dir', dataDir])).stdout.trim().split('\n')[0]!) as Record<string, unknown>;
    assert.equal(Number((await q('SELECT count() AS n FROM reports FINAL')).n), reports);
    assert.equal(Number((await q('SELECT count() AS n FROM probe_results FINAL')).n), lines('probes.ndjson'));
    assert.equal(Number((await q('SELECT count() AS n FROM status_posts FINAL')).n), lines('posts.ndjson'));
    assert.ok(Number((await q('SELECT count() AS n FROM cert_observations FINAL')).n) >= lines('certs.ndjson'));
    const inc = await q("SELECT id, status, top_hint_kind, revision FROM incidents FINAL WHERE service = 'teams'");
    assert.equal(inc.id, first[0]!.id);
    assert.equal(inc.top_hint_kind, 'cert_expired');
    assert.equal(Number(inc.revision), first[0]!.revision);
    const peak = await q("SELECT max(n) AS peak FROM (SELECT uniqExactMerge(reports) AS n FROM report_counts_1m WHERE service = 'teams' GROUP BY minute)");
    assert.ok(Number(peak.peak) >= first[0]!.peakPerMin);
  });

  it('is deterministic: a second replay prints the same incidents', async () => {
    const { stdout } = await outage(['replay', EXAMPLE, '--format', 'ndjson', '--data-dir', join(tmp, 'chdb-2')]);
    assert.deepEqual(parseIncidents(stdout), first);
  });

  it('skips malformed lines and garbage certificate files with file and line, and still completes', async () => {
    const dirty = join(tmp, 'dirty');
    cpSync(EXAMPLE, dirty, { recursive: true });
    const reports = gunzipSync(readFileSync(join(EXAMPLE, 'reports.ndjson.gz'))).toString('utf8').split('\n');
    reports.splice(100, 0, '{"id": "half a line", "ts": "2020-01-27T01:');
    reports.splice(2000, 0, '{"id":"wrong-type","ts":"2020-01-28T10:00:00Z","service":"teams","channel":42}');
    rmSync(join(dirty, 'reports.ndjson.gz'));
    writeFileSync(join(dirty, 'reports.ndjson'), reports.join('\n'));
    appendFileSync(join(dirty, 'probes.ndjson'), 'not json at all\n');
    appendFileSync(join(dirty, 'posts.ndjson'), '{"id":"p","ts":"2020-02-03T15:00:00Z","service":"teams"}\n');
    writeFileSync(join(dirty, 'certs', 'garbage.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dirty, 'certs', 'notes.txt'), 'renew before Feb!\n');
    const dirtyData = join(tmp, 'chdb-dirty');
    const { stdout, stderr } = await outage(['replay', dirty, '--format', 'ndjson', '--data-dir', dirtyData]);
    const problems = stderr.trim().split('\n');
    const expectLine = (re: RegExp) => assert.ok(problems.some((p) => re.test(p)), `missing ${re} in:\n${stderr}`);
    expectLine(/reports\.ndjson:101: skipped \(malformed_json\)/);
    expectLine(/reports\.ndjson:2001: skipped \(schema_violation\): UserReport: \/channel must be one of/);
    expectLine(/probes\.ndjson:\d+: skipped \(malformed_json\)/);
    expectLine(/posts\.ndjson:4: skipped \(schema_violation\): StatusPost: \(root\) is missing required field "account"/);
    expectLine(/certs\/garbage\.pem:1: skipped \(bad_certificate\): not a valid X.509 certificate/);
    expectLine(/certs\/notes\.txt:1: skipped \(bad_certificate\): not a certificate/);
    assert.equal(problems.length, 6, stderr);
    const incidents = parseIncidents(stdout);
    assert.deepEqual(incidents.map((i) => [i.id, i.hints[0]!.kind, i.hints[0]!.certSha256]), first.map((i) => [i.id, i.hints[0]!.kind, i.hints[0]!.certSha256]));
    // The bad lines are kept with their reason (certificate files stay where they are).
    const dead = (await outage(['sql', 'SELECT topic, reason FROM dead_letters FINAL ORDER BY topic, reason', '--data-dir', dirtyData])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(dead, [
      { topic: 'outage.reports.v1', reason: 'malformed_json' },
      { topic: 'outage.reports.v1', reason: 'schema_violation' },
      { topic: 'probe.results.v1', reason: 'malformed_json' },
      { topic: 'status.posts.v1', reason: 'schema_violation' },
    ]);
  });
});

describe('outage replay on hostile input', () => {
  const catalog = 'services:\n  - id: teams\n    name: Teams\n';
  const report = (id: string, ts = '2020-02-03T13:40:00Z', extra = '') => `{"id":"${id}","ts":"${ts}","service":"teams","channel":"web"${extra}}`;
  const scenario = (name: string, files: Record<string, string | Buffer>) => {
    const d = join(tmp, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'catalog.yaml'), catalog);
    for (const [f, body] of Object.entries(files)) writeFileSync(join(d, f), body);
    return d;
  };
  const lines = (...ls: (string | Buffer)[]) => Buffer.concat(ls.flatMap((l) => [Buffer.from(l), Buffer.from('\n')]));

  it('a 10,000-deep line, invalid UTF-8, year 0000 and 1e309 are dead-lettered with their reason; every other line is stored', async () => {
    const d = scenario('hostile', {
      'reports.ndjson': lines(
        report('good-1'),
        report('deep', '2020-02-03T13:40:01Z', `,"x":${'['.repeat(10_000)}${']'.repeat(10_000)}`),
        Buffer.concat([Buffer.from(report('latin1', '2020-02-03T13:40:02Z', ',"text":"caf').slice(0, -1)), Buffer.from([0xe9, 0x22, 0x7d])]),
        report('year-0', '0000-01-01T00:00:00Z'),
        report('good-2', '2020-02-03T13:41:00Z'),
      ),
      'probes.ndjson': lines('{"id":"inf","ts":"2020-02-03T13:40:00Z","probe":"p","service":"teams","target":"https://t/","ok":false,"durationMs":1e309}'),
    });
    const data = join(tmp, 'chdb-hostile');
    const { stderr } = await outage(['replay', d, '--format', 'ndjson', '--data-dir', data]);
    for (const re of [
      /reports\.ndjson:2: skipped \(too_deep\): nested deeper than 64 levels/,
      /reports\.ndjson:3: skipped \(invalid_utf8\): not UTF-8/,
      /reports\.ndjson:4: skipped \(out_of_range\): UserReport: \/ts must not be before 1970/,
      /probes\.ndjson:1: skipped \(out_of_range\): \/durationMs: a number too large for a double/,
    ]) assert.match(stderr, re);
    const sql = async (q: string) => (await outage(['sql', q, '--data-dir', data])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(await sql('SELECT id FROM reports FINAL ORDER BY id'), [{ id: 'good-1' }, { id: 'good-2' }]);
    const dead = await sql('SELECT source, reason, value_base64 FROM dead_letters FINAL ORDER BY source');
    assert.deepEqual(
      dead.map((r) => [String(r.source).split('/').pop(), r.reason]),
      [
        ['probes.ndjson:1', 'out_of_range'],
        ['reports.ndjson:2', 'too_deep'],
        ['reports.ndjson:3', 'invalid_utf8'],
        ['reports.ndjson:4', 'out_of_range'],
      ],
    );
    // The original bytes, not a lossy decode with U+FFFD.
    assert.ok(Buffer.from(String(dead[2]!.value_base64), 'base64').includes(Buffer.from([0x63, 0x61, 0x66, 0xe9])));
  });

  it('a replay whose every line is refused exits non-zero and says so, after naming each line', async () => {
    const d = scenario('all-bad', { 'reports.ndjson': lines('not json', report('year-0', '0000-01-01T00:00:00Z'), '[1]') });
    await assert.rejects(outage(['replay', d, '--format', 'ndjson', '--data-dir', join(tmp, 'chdb-all-bad')]), (err: { code?: number; stdout?: string; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.equal(err.stdout, '');
      assert.match(err.stderr!, /reports\.ndjson:1: skipped \(malformed_json\)/);
      assert.match(err.stderr!, /reports\.ndjson:3: skipped \(not_an_object\)/);
      assert.match(err.stderr!, /every input line was refused \(3, listed above\): nothing was replayed/);
      return true;
    });
  });
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { generateScenario } from './generate.ts';
import { MAX_MESSAGE_BYTES } from '../../schemas/decode.ts';
import { readScenario, splitLines, type InputError, type ScenarioEvent } from './read.ts';

const dir = mkdtempSync(join(tmpdir(), 'outage-read-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const rep = (id: string, ts: string) => JSON.stringify({ id, ts, service: 'teams', channel: 'web' });
const probe = (id: string, ts: string) => JSON.stringify({ id, ts, probe: 'p', service: 'teams', target: 'https://t/', ok: true, durationMs: 1 });

async function readAll(d: string): Promise<{ events: ScenarioEvent[]; errors: InputError[] }> {
  const events: ScenarioEvent[] = [];
  const errors: InputError[] = [];
  for await (const chunk of readScenario(d, { onError: (e) => errors.push(e) })) events.push(...chunk);
  return { events, errors };
}

describe('scenario reader', () => {
  it('merges files by event time, restores order within minutes, and reports bad lines with file and line', async () => {
    const d = join(dir, 'mixed');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(d);
    writeFileSync(
      join(d, 'reports.ndjson'),
      [
        rep('a', '2020-02-03T13:40:00Z'),
        rep('c', '2020-02-03T13:42:00Z'),
        rep('b', '2020-02-03T13:41:00Z'), // two minutes late
        '{"id": "broken", "ts": ',
        '',
        rep('d', '2020-02-03T13:43:00Z').replace('"web"', '"fax"'),
        '[1,2,3]',
        rep('e', '2020-02-03T13:44:00Z'),
      ].join('\r\n'),
    );
    writeFileSync(join(d, 'probes.ndjson.gz'), gzipSync(`${probe('p1', '2020-02-03T13:41:30Z')}\n${probe('p2', '2020-02-03T13:43:30Z')}\n`));
    const { events, errors } = await readAll(d);
    assert.deepEqual(
      events.map((e) => (e.value as { id: string }).id),
      ['a', 'b', 'p1', 'c', 'p2', 'e'],
    );
    assert.deepEqual(
      errors.map((e) => [e.file.split('/').pop(), e.line, e.reason]),
      [
        ['reports.ndjson', 4, 'malformed_json'],
        ['reports.ndjson', 6, 'schema_violation'],
        ['reports.ndjson', 7, 'not_an_object'],
      ],
    );
    assert.match(errors[1]!.detail, /\/channel must be one of/);
    assert.equal(events[0]!.source, `${join(d, 'reports.ndjson')}:1`);
  });

  it('hostile lines are refused one by one with their reason; the rest of the file is read', async () => {
    const d = join(dir, 'hostile');
    mkdirSync(d);
    const deep = rep('deep', '2020-02-03T13:41:00Z').replace('}', `,"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
    const lines: (string | Buffer)[] = [
      rep('a', '2020-02-03T13:40:00Z'),
      deep,
      // Valid JSON once decoded lossily, but its bytes are Latin-1 ("café"), not UTF-8.
      Buffer.concat([Buffer.from(`${rep('latin1', '2020-02-03T13:41:00Z').slice(0, -1)},"text":"caf`), Buffer.from([0xe9]), Buffer.from('"}')]),
      rep('year0', '0000-01-01T00:00:00Z'),
      probe('inf', '2020-02-03T13:41:00Z').replace('"durationMs":1', '"durationMs":1e309'),
      rep('b', '2020-02-03T13:42:00Z'),
    ];
    writeFileSync(join(d, 'reports.ndjson'), Buffer.concat(lines.map((l) => Buffer.concat([Buffer.from(l), Buffer.from('\n')]))));
    const { events, errors } = await readAll(d);
    assert.deepEqual(events.map((e) => (e.value as { id: string }).id), ['a', 'b']);
    assert.deepEqual(
      errors.map((e) => [e.line, e.reason]),
      [
        [2, 'too_deep'],
        [3, 'invalid_utf8'],
        [4, 'out_of_range'],
        [5, 'out_of_range'], // 1e309, refused before its contract is looked at
      ],
    );
    // The original bytes go to the dead-letter topic, not a lossy decode.
    assert.ok(Buffer.isBuffer(errors[1]!.raw) && (errors[1]!.raw as Buffer).includes(0xe9));
    assert.match(errors[2]!.detail, /\/ts must not be before 1970/);
  });

  it('1e309 in a probe is out_of_range, and an unterminated huge line is cut off without holding it whole', async () => {
    const d = join(dir, 'huge');
    mkdirSync(d);
    const big = `{"pad":"${'x'.repeat(MAX_MESSAGE_BYTES + 10)}`; // no closing quote, no newline
    writeFileSync(join(d, 'probes.ndjson'), `${probe('inf', '2020-02-03T13:41:00Z').replace('"durationMs":1', '"durationMs":1e309')}\n${probe('ok', '2020-02-03T13:42:00Z')}\n${big}`);
    const { events, errors } = await readAll(d);
    assert.deepEqual(events.map((e) => (e.value as { id: string }).id), ['ok']);
    assert.deepEqual(errors.map((e) => [e.line, e.reason]), [
      [1, 'out_of_range'],
      [3, 'oversized'],
    ]);
    assert.match(errors[0]!.detail, /durationMs/);
    assert.ok((errors[1]!.raw as Uint8Array).length <= MAX_MESSAGE_BYTES);
  });

  it('splits lines on bytes across chunk boundaries, multi-byte characters included', async () => {
    const text = 'première\r\n{"é":"😀"}\nlast';
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const got: unknown[] = [];
      for await (const ls of splitLines([bytes.subarray(0, cut), bytes.subarray(cut)])) got.push(...ls);
      assert.deepEqual(got, ['première\r', '{"é":"😀"}', 'last'], `cut at ${cut}`);
    }
  });

  it('streams a large generated scenario in order', async () => {
    const d = join(dir, 'gen');
    const written = await generateScenario({ dir: d, services: 3, days: 1, seed: 3, peakRatePerMin: 10, probeRegions: 2, startIso: '2020-02-03T00:00:00Z', outage: false });
    const { events, errors } = await readAll(d);
    assert.equal(errors.length, 0);
    assert.equal(events.filter((e) => e.topic === 'reports').length, written.reports);
    assert.equal(events.filter((e) => e.topic === 'probes').length, written.probes);
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.tsMs >= events[i - 1]!.tsMs, `out of order at ${i}`);
  });

  it('the generator is deterministic: same seed, same bytes', async () => {
    const opts = { services: 2, days: 1, seed: 42, peakRatePerMin: 5, probeRegions: 1, startIso: '2020-02-03T00:00:00Z', outage: true };
    await generateScenario({ dir: join(dir, 's1'), ...opts });
    await generateScenario({ dir: join(dir, 's2'), ...opts });
    for (const f of ['catalog.yaml', 'reports.ndjson', 'probes.ndjson']) {
      assert.equal(readFileSync(join(dir, 's1', f), 'utf8'), readFileSync(join(dir, 's2', f), 'utf8'), f);
    }
  });
});

/**
 * The scenario reader (`replay`, `publish`) on files of hostile lines: it never throws, and every
 * line that is not blank comes out exactly once, either as an event its contract accepts or as an
 * input error with a dead-letter reason and its line number; LF or CRLF, plain or gzipped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { DeadLetterReasons, type ContractName } from '../../schemas/contracts.ts';
import { check } from '../../schemas/decode.ts';
import { topics } from '../../schemas/topics.ts';
import { readScenario, SCENARIO_FILES, type InputError } from '../../lib/scenario/read.ts';
import { hostileLine } from './arbitraries.ts';
import { runs } from './config.ts';

const REASONS = new Set(DeadLetterReasons.anyOf.map((l) => l.const as string));
const dir = mkdtempSync(join(tmpdir(), 'outage-ndjson-prop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const file = fc.constantFrom(...SCENARIO_FILES).chain((spec) =>
  fc.record({
    spec: fc.constant(spec),
    lines: fc.array(hostileLine(topics[spec.topic].contract as ContractName), { minLength: 1, maxLength: 6 }),
    eol: fc.constantFrom('\n', '\r\n'),
    trailing: fc.boolean(),
    gz: fc.boolean(),
  }),
);

describe('NDJSON reader, property-based', () => {
  it('every non-blank line is one accepted event or one refusal with its reason and line', async () => {
    await fc.assert(
      fc.asyncProperty(file, async ({ spec, lines, eol, trailing, gz }) => {
        const d = dir;
        for (const f of SCENARIO_FILES) for (const name of [f.file, `${f.file}.gz`]) rmSync(join(d, name), { force: true });
        const eolBytes = Buffer.from(eol);
        const body = Buffer.concat([...lines.flatMap((l, i) => (i > 0 ? [eolBytes, l] : [l])), trailing ? eolBytes : Buffer.alloc(0)]);
        writeFileSync(join(d, gz ? `${spec.file}.gz` : spec.file), gz ? gzipSync(body) : body);
        // The lines as the reader must see them: split on LF; blank ones (whitespace only) skipped.
        const physical: number[] = [];
        let n = 0;
        for (let from = 0; from <= body.length; ) {
          let nl = body.indexOf(10, from);
          if (nl === -1) nl = body.length;
          n++;
          const line = body.subarray(from, nl);
          if (!(line.every((b) => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0b || b === 0x0c) || (nl === body.length && line.length === 0))) {
            physical.push(n);
          }
          from = nl + 1;
        }
        const seen: number[] = [];
        const errors: InputError[] = [];
        for await (const chunk of readScenario(d, { onError: (e) => errors.push(e) })) {
          for (const e of chunk) {
            assert.ok(check(topics[spec.topic].contract as ContractName, e.value).ok);
            seen.push(Number(e.source.slice(e.source.lastIndexOf(':') + 1)));
          }
        }
        for (const e of errors) {
          assert.ok(REASONS.has(e.reason), `${e.reason}: ${e.detail}`);
          assert.ok(e.raw !== undefined, 'a refused line keeps its bytes for the dead-letter topic');
          seen.push(e.line);
        }
        // Whitespace-only lines that are not ASCII whitespace (U+00A0 …) are trimmed by JS too: allow them to be skipped.
        const missing = physical.filter((l) => !seen.includes(l));
        for (const l of missing) {
          const text = body.toString('utf8').split('\n')[l - 1] ?? '';
          assert.equal(text.trim(), '', `line ${l} neither accepted nor refused`);
        }
        assert.deepEqual([...seen].sort((a, b) => a - b), [...new Set(seen)].sort((a, b) => a - b), 'a line came out twice');
      }),
      runs(),
    );
  });
});

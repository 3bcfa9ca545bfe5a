/**
 * The report API's reading of a request body, apart from HTTP so that it can be tested (and
 * fuzzed) directly: bytes in, items with per-item refusals out; nothing here throws on bad input.
 *
 * Wire format: one UserReport as a JSON object, a JSON array of them, or NDJSON (one per line),
 * UTF-8. The checks are those of every consumer (`schemas/decode.ts`): a body that is not UTF-8,
 * nested too deep or not JSON is refused whole (`400` with the reason); in a batch, a number too
 * large for a double or a lone surrogate refuses only its item, as does an NDJSON line that is
 * not UTF-8 or not JSON.
 */
import { isUtf8 } from 'node:buffer';
import type { UserReport } from '../../schemas/contracts.ts';
import { check, invalidUtf8Offset, leafProblem, parseJson } from '../../schemas/decode.ts';

export interface Refused {
  index: number;
  reason: string;
  detail: string;
}

export type BodyRead =
  | { ok: true; items: unknown[]; single: boolean; refused: Refused[] }
  | { ok: false; status: number; code: string; message: string };

/**
 * Splits a request body into items (an NDJSON line that is blank or refused leaves a hole at its
 * index, so indexes stay line numbers from 0).
 *
 * @example readReportBody(Buffer.from('[{"service":"teams","channel":"web"}]'), { ndjson: false, maxBatch: 1000 })
 */
export function readReportBody(body: Uint8Array, opts: { ndjson: boolean; maxBatch: number }): BodyRead {
  const items: unknown[] = [];
  const refused: Refused[] = [];
  let single = false;
  if (opts.ndjson) {
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    let count = 0;
    for (let from = 0, index = 0; from <= buf.length; index++) {
      let nl = buf.indexOf(10, from);
      if (nl === -1) nl = buf.length;
      const line = buf.subarray(from, nl);
      from = nl + 1;
      if (line.toString('latin1').trim() === '') continue;
      if (++count > opts.maxBatch) return { ok: false, status: 413, code: 'batch_too_large', message: `at most ${opts.maxBatch} reports per request` };
      const r = parseJson(line);
      if (r.ok) items[index] = r.value;
      else refused.push({ index, reason: r.reason, detail: r.detail.slice(0, 200) });
    }
  } else {
    if (!isUtf8(body)) return { ok: false, status: 400, code: 'invalid_utf8', message: `the body is not UTF-8: invalid byte sequence at byte ${invalidUtf8Offset(body)}` };
    const r = parseJson(body, { leaves: false });
    if (!r.ok) return { ok: false, status: 400, code: r.reason, message: r.detail.slice(0, 200) };
    if (Array.isArray(r.value)) items.push(...r.value);
    else if (r.value !== null && typeof r.value === 'object' && Object.keys(r.value).length > 0) {
      items.push(r.value);
      single = true;
    } else return { ok: false, status: 400, code: 'empty_body', message: 'send one report as a JSON object, or a JSON array or NDJSON of reports' };
    if (items.length > opts.maxBatch) return { ok: false, status: 413, code: 'batch_too_large', message: `at most ${opts.maxBatch} reports per request` };
    items.forEach((item, index) => {
      const bad = leafProblem(item);
      if (!bad) return;
      refused.push({ index, reason: bad.reason, detail: bad.detail });
      delete items[index];
    });
  }
  if (opts.ndjson && items.length === 0 && refused.length === 0) return { ok: false, status: 400, code: 'empty_body', message: 'send one report as a JSON object, or a JSON array or NDJSON of reports' };
  return { ok: true, items, single, refused };
}

/**
 * One item as a UserReport: `id` and `ts` filled when absent, then checked against the contract
 * (a `ts` outside 1970–2100 is `out_of_range`).
 */
export function checkReport(item: unknown, index: number, fill: { id: () => string; ts: string }): { ok: true; report: UserReport } | { ok: false; refused: Refused } {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { ok: false, refused: { index, reason: 'not_an_object', detail: 'each report is a JSON object' } };
  }
  const r = check('UserReport', { id: fill.id(), ts: fill.ts, ...(item as Record<string, unknown>) });
  return r.ok ? { ok: true, report: r.value } : { ok: false, refused: { index, reason: r.reason, detail: r.detail } };
}

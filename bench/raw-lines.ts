/**
 * The raw references' way of reading a scenario file: 1 MiB chunks (gunzipped when `.gz`), split
 * into lines, nothing checked. Yields the non-empty lines of each chunk as one array, so a
 * reference's per-line loop stays a plain loop and the baseline pays no per-line await.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

export async function* rawLines(path: string): AsyncGenerator<string[]> {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let rest = '';
  for await (const chunk of stream) {
    const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n');
    rest = lines.pop()!;
    yield lines.filter(Boolean);
  }
  if (rest) yield [rest];
}

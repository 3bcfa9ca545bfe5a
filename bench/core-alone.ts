/**
 * The correlator core alone on the scenario's events, for the Kafka bench (bench/kafka.ts): the
 * events are read and decoded first, outside the timing, so `seconds` is `CorrelatorCore.step`
 * only: the ceiling of the correlator process whatever its bus does. Prints one JSON line
 * `{ events, seconds, maxRssMb }`.
 *
 *   node --import tsx bench/core-alone.ts <dir>
 */
import { join } from 'node:path';
import { loadCatalog } from '../lib/catalog.ts';
import { readScenario } from '../lib/scenario/read.ts';
import { CorrelatorCore, eventOf } from '../services/correlator/core/correlator.ts';

const [dir] = process.argv.slice(2) as [string];
const core = new CorrelatorCore(loadCatalog(join(dir, 'catalog.yaml')));
let events = 0;
let ms = 0;
// Timed per chunk, so reading and decoding (and their memory) stay out of the figure.
for await (const chunk of readScenario(dir)) {
  const batch = chunk.map((e) => eventOf(e.topic, e.value)!);
  const t0 = performance.now();
  for (const e of batch) core.step(e);
  ms += performance.now() - t0;
  events += batch.length;
}
process.stdout.write(`${JSON.stringify({ events, seconds: ms / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);

/** What several commands print the same way. */
import type { InputError } from '../lib/scenario/read.ts';

/** An input problem on stderr as `file:line: skipped (reason): detail`. */
export function printInputError(e: InputError): void {
  process.stderr.write(`${e.file}:${e.line}: skipped (${e.reason}): ${e.detail}\n`);
}

/** Text helpers shared by the receivers' message builders. */
import { LIKELY_CAUSE } from './events.ts';

/** Cuts `s` to at most `max` characters, marking the cut. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** `97% (likely cause)` / `3% (context)`, the wording of the CLI and the API. */
export function confidenceText(confidence: number): string {
  return `${Math.round(confidence * 100)}% (${confidence >= LIKELY_CAUSE ? 'likely cause' : 'context'})`;
}

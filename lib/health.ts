/**
 * Readiness as a value: each part of a service (its bus, its store writes) says whether it works
 * and, when it does not, why, in one line an operator can act on. `/readyz` answers 503 with the
 * reasons of every failing part.
 */
export interface Health {
  readonly ok: boolean;
  /** Why not, when `ok` is false (one line, e.g. `consumer group "sink" restarting after a crash: …`). */
  readonly reason?: string;
}

export const HEALTHY: Health = { ok: true };

/** A failing health with its reason. */
export function unhealthy(reason: string): Health {
  return { ok: false, reason };
}

/**
 * Combines the health of several parts: ok when all are, otherwise every reason, `; `-separated.
 *
 * @example
 * combineHealth([bus.health(), sink.health()]); // { ok: false, reason: 'store refuses writes: ECONNREFUSED …' }
 */
export function combineHealth(parts: readonly Health[]): Health {
  const reasons = parts.filter((p) => !p.ok).map((p) => p.reason ?? 'not ready');
  return reasons.length === 0 ? HEALTHY : unhealthy(reasons.join('; '));
}

/**
 * A region or problem slice of a service's reports (`region:GB`, `problem:login`), detected on
 * its own, or the service's whole series. Most slices of most services stay far below what can raise an alarm (`minCount`
 * reports in the slow window), so a slice starts as a log of its reports and becomes a
 * `ReportDetector` only when it could matter: when its recent reports could reach `minCount`,
 * when an incident needs its minutes, or when the log would outgrow a detector. The detector is
 * then built by replaying the log with the calls it would have received from the start, so what
 * it decides is the same as if it had been there all along.
 *
 * Until then it takes no per-minute work: closing minutes is deferred to the replay. The replay
 * closes the same minutes in the same order as the live calls did, provided no single move of
 * the clock was longer than the detector's horizon (such a move closes only its last
 * `horizonSlots`): callers materialise before one (`mustMaterialiseBefore`).
 */
import { MINUTE_MS, ReportDetector, type Alarm } from './detector.ts';
import type { DetectorParams } from './params.ts';

/** Reports a slice logs before it becomes a detector anyway (the log then weighs about as much). */
export const SLICE_LOG_LIMIT = 1024;

export class Slice {
  /** The detector, once materialised. */
  detector: ReportDetector | undefined;
  /** Pending: each report's time and the slot the detector had open when it was counted. */
  private log: number[] = [];
  /** Pending: the slot the detector would have open by its own calls. */
  private own = -1;
  /** The service's minute when the slice was created (later service minutes move it too). */
  private readonly bornAt: number;
  private readonly suppress: boolean;

  constructor(
    private readonly p: DetectorParams,
    serviceMinute: number,
    suppressLearning: boolean,
    eager: boolean,
  ) {
    this.bornAt = serviceMinute;
    this.suppress = suppressLearning;
    if (eager) {
      this.detector = new ReportDetector(p);
      this.detector.suppressLearning = suppressLearning;
    }
  }

  get pending(): boolean {
    return this.detector === undefined;
  }

  /** The slot the detector would have open now: its own calls, and every service minute since it was created. */
  private openSlot(serviceMinute: number): number {
    return serviceMinute > this.bornAt ? Math.max(this.own, serviceMinute) : this.own;
  }

  /**
   * Counts a report (`advanceTo` its minute, then `add`), at the service minute `serviceMinute`.
   * Returns the alarm the detector raises, if any.
   */
  report(tsMs: number, serviceMinute: number, firstMinute?: number): Alarm | undefined {
    const minute = Math.floor(tsMs / MINUTE_MS);
    if (this.detector) {
      this.detector.skipTo(minute);
      return this.detector.add(tsMs);
    }
    const cur = Math.max(this.openSlot(serviceMinute), minute);
    this.own = cur;
    this.log.push(tsMs, cur);
    // An alarm needs minCount reports in the slow window of the open slot; every report in it
    // was counted at a slot at most that far back (the log is in call order, slots only grow).
    const from = cur - (this.p.slowWindowMinutes - 1);
    let recent = 0;
    for (let i = this.log.length - 1; i > 0 && this.log[i]! >= from; i -= 2) recent++;
    if (recent >= this.p.minCount || this.log.length >= 2 * SLICE_LOG_LIMIT) return this.materialise(serviceMinute, firstMinute);
    return undefined;
  }

  /**
   * The detector, built now if pending (replaying the log), moved to where the live calls would
   * have left it. `firstMinute`: the service's first minute, when the slice (a service's own
   * series) was there before it.
   */
  materialise(serviceMinute: number, firstMinute?: number): Alarm | undefined {
    if (this.detector) return undefined;
    const d = new ReportDetector(this.p);
    d.suppressLearning = this.suppress;
    if (firstMinute !== undefined) moveTo(d, firstMinute);
    let alarm: Alarm | undefined;
    for (let i = 0; i < this.log.length; i += 2) {
      moveTo(d, this.log[i + 1]!);
      alarm = d.add(this.log[i]!);
    }
    moveTo(d, this.openSlot(serviceMinute));
    this.detector = d;
    this.log = [];
    return alarm;
  }
}

/** `skipTo` in moves of at most the horizon, so every minute in between is closed as the live calls closed it. */
function moveTo(d: ReportDetector, slot: number): void {
  if (slot < 0) return;
  if (d.openSlot >= 0) for (let s = d.openSlot + d.horizonSlots; s < slot; s += d.horizonSlots) d.skipTo(s);
  d.skipTo(slot);
}

/**
 * Whether pending slices must become detectors before the service's clock moves from
 * `fromMinute` to `toMinute`: a pending slice may lag the service by up to half the horizon
 * (see `lateBirth`), so a move of more than the other half could be one the live detector makes
 * in a single jump.
 */
export function mustMaterialiseBefore(p: DetectorParams, fromMinute: number, toMinute: number): boolean {
  return toMinute - fromMinute > halfHorizon(p);
}

/** A slice created this far behind its service starts as a detector (its first move could be a jump). */
export function lateBirth(p: DetectorParams, sliceMinute: number, serviceMinute: number): boolean {
  return serviceMinute - sliceMinute > halfHorizon(p);
}

const halfHorizon = (p: DetectorParams) => ((p.seasonDays + 1) * 1440) / 2;

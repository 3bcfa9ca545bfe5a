/**
 * Where a rebuild of one input partition has to start: a rolling index of event minute → first
 * offset, kept by the correlator for each partition it reads (Kafka only; the memory bus has no
 * partitions to move).
 *
 * The index holds one entry each time the partition's running maximum event minute grows: the
 * entry `(m, o)` says that offset `o` is the first message whose event reached minute `m`, so
 * every message before `o` is older than `m`. The first entry at or after a cutoff minute is
 * therefore an offset before which nothing inside the cutoff lies, even with messages a few
 * minutes out of order. Memory: one entry per minute of event time kept (about 12,000 for the
 * default horizon of 8 days), whatever the message rate.
 *
 * @example
 * const idx = new RebuildIndex();
 * idx.observe(0, 100, 'teams'); idx.observe(1, 100, 'teams'); idx.observe(2, 101, 'zoom');
 * idx.rebuildFrom(101, 3); // 2: offsets 0 and 1 are events of minute 100
 */
export class RebuildIndex {
  private minutes: number[] = [];
  private offsets: number[] = [];
  /** Entries before `head` are pruned (dropped in chunks, so pruning is amortised). */
  private head = 0;
  /** The services whose messages came from this partition. */
  readonly services = new Set<string>();
  /** The last offset stepped from this partition (a redelivered message at or below it is skipped). */
  last = -1;

  /** Records a message the correlator stepped: its offset, event minute and service. */
  observe(offset: number, minute: number, service: string): void {
    this.last = offset;
    this.services.add(service);
    const n = this.minutes.length;
    if (n === this.head || minute > this.minutes[n - 1]!) {
      this.minutes.push(minute);
      this.offsets.push(offset);
    }
  }

  /** The latest event minute among the messages before offset `asOf`, or undefined when none is indexed. */
  latestMinuteBefore(asOf: number): number | undefined {
    const i = this.lastBefore(asOf);
    return i < 0 ? undefined : this.minutes[i];
  }

  /**
   * The first offset whose event lies at or after `cutoffMinute`, among the messages before
   * `asOf`; `asOf` itself when all of them are older (nothing before it is needed). When the
   * index does not reach back to the cutoff (it was itself rebuilt from a later offset), its
   * first entry: nothing before that was read, and it was a safe start for an earlier cutoff.
   */
  rebuildFrom(cutoffMinute: number, asOf: number): number {
    const last = this.lastBefore(asOf);
    if (last < 0) return asOf;
    // First entry (of head..last) with minute >= cutoff: binary search, minutes only grow.
    let lo = this.head;
    let hi = last + 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.minutes[mid]! >= cutoffMinute) hi = mid;
      else lo = mid + 1;
    }
    return lo > last ? asOf : this.offsets[lo]!;
  }

  /** Drops the entries of minutes before `minute` (they can no longer be a rebuild's start). */
  prune(minute: number): void {
    while (this.head < this.minutes.length - 1 && this.minutes[this.head + 1]! <= minute) this.head++;
    if (this.head > 4096 && this.head * 2 > this.minutes.length) {
      this.minutes = this.minutes.slice(this.head);
      this.offsets = this.offsets.slice(this.head);
      this.head = 0;
    }
  }

  /** Entries kept (for tests and metrics). */
  get size(): number {
    return this.minutes.length - this.head;
  }

  /** Index of the last entry with an offset below `asOf`, or -1. */
  private lastBefore(asOf: number): number {
    let lo = this.head;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.offsets[mid]! < asOf) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1 >= this.head ? lo - 1 : -1;
  }
}

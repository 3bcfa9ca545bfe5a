/**
 * The live incident feed: a tiny in-process pub/sub of incident changes, filled from
 * `incidents.v1` by `attachIncidentFeed`, read by the event stream (`GET /api/v1/events`) and by
 * anything else in the process that wants to react to incidents (the open-incident gauge).
 *
 * Each change carries its event name (opened, updated, resolved, reopened), derived with the same
 * rule the sink uses for annotations (`incidentEvent`), from the previous state of that incident
 * this feed has seen.
 */
import type { Incident } from '../../schemas/contracts.ts';
import { topics } from '../../schemas/topics.ts';
import type { Bus } from '../../lib/bus/bus.ts';
import { decodeBatch } from '../../lib/bus/dead-letters.ts';
import { incidentEvent, type IncidentEvent } from '../../lib/store/rows.ts';

export type IncidentListener = (incident: Incident, event: IncidentEvent) => void;

export interface IncidentFeed {
  /** Announces a new state of an incident to every subscriber. */
  publish(incident: Incident): void;
  /** Calls `fn` for every later change; returns the function that stops it. */
  subscribe(fn: IncidentListener): () => void;
}

export interface FeedOptions {
  /** Called when a subscriber throws (default: a process warning on stderr). */
  onError?: (err: unknown) => void;
}

/** How many incidents' previous states are remembered (oldest forgotten first), against unbounded growth. */
const REMEMBERED = 50_000;

/**
 * A feed with no source of its own: call `publish` to announce changes.
 *
 * @example
 * const feed = createIncidentFeed();
 * const stop = feed.subscribe((inc, event) => console.log(event, inc.id));
 * feed.publish(incident); // logs "opened teams-20200203T1340Z"
 * stop();
 */
export function createIncidentFeed(opts: FeedOptions = {}): IncidentFeed {
  const onError = opts.onError ?? ((err: unknown) => process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'IncidentFeedWarning'));
  const listeners = new Set<IncidentListener>();
  const previous = new Map<string, Incident>();
  return {
    publish(incident) {
      const event = incidentEvent(incident, previous.get(incident.id));
      previous.delete(incident.id); // re-inserted last: the map's order is least recently changed first
      previous.set(incident.id, incident);
      if (previous.size > REMEMBERED) previous.delete(previous.keys().next().value!);
      for (const fn of [...listeners]) {
        // One subscriber's bug must not stop the others, nor the bus consumer that publishes.
        try {
          fn(incident, event);
        } catch (err) {
          onError(err);
        }
      }
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
  };
}

/**
 * Subscribes to `incidents.v1` as consumer group `group` and returns a feed of what arrives.
 * Messages that break the contract are skipped here: the sink, which reads the same topic,
 * dead-letters them.
 *
 * @example
 * const feed = await attachIncidentFeed(bus, 'api');
 * feed.subscribe((inc, event) => notify(event, inc));
 */
export async function attachIncidentFeed(bus: Bus, group: string, opts: FeedOptions = {}): Promise<IncidentFeed> {
  const feed = createIncidentFeed(opts);
  await bus.subscribe({
    group,
    topics: [topics.incidents.name],
    eachBatch: async (batch) => {
      const { good } = decodeBatch(batch, Date.now());
      for (const d of good) feed.publish(d.value as Incident);
    },
  });
  return feed;
}

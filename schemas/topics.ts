/**
 * The pipeline declared as data (DESIGN.md §2): every topic, its contract, its key, its layout and
 * who produces and consumes it. Buses, the sink and the tests read this table; nothing else names
 * a topic by string.
 */
import type { ContractName } from './contracts.ts';

export interface TopicSpec {
  readonly name: string;
  readonly contract: ContractName;
  /** How the message key is derived; all events of one key land in one partition. */
  readonly key: 'service' | 'sha256+endpoint' | 'id' | 'source-topic';
  readonly partitions: number;
  /** Compacted topics keep the latest record per key forever (a global table). */
  readonly compacted: boolean;
  readonly producers: readonly string[];
  readonly consumers: readonly string[];
}

export const topics = {
  reports: {
    name: 'outage.reports.v1',
    contract: 'UserReport',
    key: 'service',
    partitions: 6,
    compacted: false,
    producers: ['report-ingest', 'social-ingest', 'replay'],
    consumers: ['correlator', 'sink'],
  },
  posts: {
    name: 'status.posts.v1',
    contract: 'StatusPost',
    key: 'service',
    partitions: 3,
    compacted: false,
    producers: ['social-ingest', 'replay'],
    consumers: ['correlator', 'sink'],
  },
  probes: {
    name: 'probe.results.v1',
    contract: 'ProbeResult',
    key: 'service',
    partitions: 6,
    compacted: false,
    producers: ['prober', 'replay'],
    consumers: ['correlator', 'sink'],
  },
  certs: {
    name: 'cert.observations.v1',
    contract: 'CertObservation',
    key: 'sha256+endpoint',
    partitions: 3,
    compacted: true,
    producers: ['prober', 'cert-inventory', 'replay'],
    consumers: ['correlator', 'sink'],
  },
  incidents: {
    name: 'incidents.v1',
    contract: 'Incident',
    key: 'id',
    partitions: 3,
    compacted: false,
    producers: ['correlator'],
    consumers: ['sink', 'notifier'],
  },
  dlq: {
    name: 'dlq.v1',
    contract: 'DeadLetter',
    key: 'source-topic',
    partitions: 1,
    compacted: false,
    producers: ['correlator', 'sink', 'replay', 'cert-inventory'],
    consumers: ['sink'],
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicId = keyof typeof topics;
export type TopicName = (typeof topics)[TopicId]['name'];

/** Topic spec by wire name, for adapters that receive the name back from the broker. */
export const topicByName: ReadonlyMap<string, TopicSpec & { id: TopicId }> = new Map(
  (Object.entries(topics) as [TopicId, TopicSpec][]).map(([id, spec]) => [spec.name, { ...spec, id }]),
);

/** The key a certificate observation is compacted under: one record per certificate and place. */
export function certKey(o: { sha256: string; endpoint?: string | undefined; source: string }): string {
  return `${o.sha256}|${o.endpoint ?? o.source}`;
}

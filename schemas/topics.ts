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
  readonly key: 'service' | 'sha256+endpoint' | 'id' | 'source-topic' | 'group+topic+partition';
  readonly partitions: number;
  /** Compacted topics keep the latest record per key forever (a global table). */
  readonly compacted: boolean;
  /**
   * Who publishes to the topic: a service (its folder under `services/`), `replay` (the scenario
   * feed that `replay`, `publish` and `serve --replay` share), or `bus` (the Kafka adapter of any
   * producer, for a record the broker refuses: too large, bad timestamp).
   */
  readonly producers: readonly string[];
  /** Who subscribes to the topic (a service, by its folder under `services/`). */
  readonly consumers: readonly string[];
  /**
   * The one consumer group that publishes dead letters for this topic's undecodable messages.
   * Every other group counts them (`outage_messages_refused_total`) and skips them, so each bad
   * record is dead-lettered once, not once per group. The sink reads every topic and owns them all.
   * (In one process without the owner, e.g. a test wiring only the notifier, the memory bus hands
   * the part to the first group that subscribed to the topic.)
   */
  readonly deadLetteredBy: string;
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
    deadLetteredBy: 'sink',
  },
  posts: {
    name: 'status.posts.v1',
    contract: 'StatusPost',
    key: 'service',
    partitions: 3,
    compacted: false,
    producers: ['social-ingest', 'replay'],
    consumers: ['correlator', 'sink'],
    deadLetteredBy: 'sink',
  },
  probes: {
    name: 'probe.results.v1',
    contract: 'ProbeResult',
    key: 'service',
    partitions: 6,
    compacted: false,
    producers: ['prober', 'replay'],
    consumers: ['correlator', 'sink'],
    deadLetteredBy: 'sink',
  },
  certs: {
    name: 'cert.observations.v1',
    contract: 'CertObservation',
    key: 'sha256+endpoint',
    partitions: 3,
    compacted: true,
    producers: ['prober', 'cert-inventory', 'replay'],
    consumers: ['correlator', 'sink'],
    deadLetteredBy: 'sink',
  },
  incidents: {
    name: 'incidents.v1',
    contract: 'Incident',
    key: 'id',
    partitions: 3,
    compacted: false,
    producers: ['correlator'],
    consumers: ['sink', 'annotator', 'notifier', 'api'],
    deadLetteredBy: 'sink',
  },
  dlq: {
    name: 'dlq.v1',
    contract: 'DeadLetter',
    key: 'source-topic',
    partitions: 1,
    compacted: false,
    // The sink (dead letters of every topic, rows the store refuses), the correlator (of its
    // checkpoint topic), the scenario feed (lines it cannot read), and the Kafka adapter of any
    // producer (records the broker refuses).
    producers: ['sink', 'correlator', 'replay', 'bus'],
    consumers: ['sink'],
    deadLetteredBy: 'sink',
  },
  checkpoints: {
    // Where each input partition's state rebuild starts (README: "Correlator state that survives"):
    // one small record per group, topic and partition, compacted, read in full by every instance.
    name: 'correlator.checkpoints.v1',
    contract: 'Checkpoint',
    key: 'group+topic+partition',
    partitions: 1,
    compacted: true,
    producers: ['correlator'],
    consumers: ['correlator'],
    deadLetteredBy: 'correlator',
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicId = keyof typeof topics;
export type TopicName = (typeof topics)[TopicId]['name'];

/** Topic spec by wire name, for adapters that receive the name back from the broker. */
export const topicByName: ReadonlyMap<string, TopicSpec & { id: TopicId }> = new Map(
  (Object.entries(topics) as [TopicId, TopicSpec][]).map(([id, spec]) => [spec.name, { ...spec, id }]),
);

/** The key a checkpoint is compacted under: one record per consumer group and input partition. */
export function checkpointKey(c: { group: string; topic: string; partition: number }): string {
  return `${c.group}|${c.topic}|${c.partition}`;
}

/** The key a certificate observation is compacted under: one record per certificate and place. */
export function certKey(o: { sha256: string; endpoint?: string | undefined; source: string }): string {
  return `${o.sha256}|${o.endpoint ?? o.source}`;
}

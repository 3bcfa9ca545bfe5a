/**
 * What to do with a kafkajs error, as a table (kafkajs's own `retriable` flag is the default).
 *
 * - `retry`: the broker or the connection will come back (connection refused or closed, request
 *   timeouts, a leader moving, metadata not loaded yet): retry with backoff.
 * - `dead_letter`: the broker refuses these records themselves and will refuse them again
 *   (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_TIMESTAMP, INVALID_RECORD): never retried;
 *   the publish is split until the refused record is alone, and that record becomes a dead letter.
 * - `fail`: retrying cannot help and it is not about one record (authorization, an unsupported
 *   protocol version, a bad configuration): the publish fails at once with the error.
 *
 * kafkajs wraps errors (`KafkaJSNonRetriableError`, `KafkaJSNumberOfRetriesExceeded`) around the
 * one that happened; the classification looks through the `cause` chain for it.
 * Codes: https://kafka.apache.org/protocol.html#protocol_error_codes
 */
import type { DeadLetterReason } from '../../schemas/contracts.ts';

export type KafkaErrorAction = 'retry' | 'dead_letter' | 'fail';

export interface KafkaErrorClass {
  readonly action: KafkaErrorAction;
  /** The dead-letter reason when `action` is `dead_letter`. */
  readonly reason?: DeadLetterReason;
  /** The protocol error type or error class name that decided (for logs and details). */
  readonly name: string;
}

/** Broker error types (`KafkaJSProtocolError.type`) whose handling differs from, or needs saying beyond, kafkajs's flag. */
export const PROTOCOL_ERRORS: Readonly<Record<string, { action: KafkaErrorAction; reason?: DeadLetterReason }>> = {
  MESSAGE_TOO_LARGE: { action: 'dead_letter', reason: 'oversized' },
  RECORD_LIST_TOO_LARGE: { action: 'dead_letter', reason: 'oversized' },
  INVALID_TIMESTAMP: { action: 'dead_letter', reason: 'schema_violation' },
  INVALID_RECORD: { action: 'dead_letter', reason: 'schema_violation' },
  // CRC failures are corruption on the way, not in the record: sending again fixes them.
  CORRUPT_MESSAGE: { action: 'retry' },
  // A topic being created, a leader being elected: they settle.
  UNKNOWN_TOPIC_OR_PARTITION: { action: 'retry' },
  LEADER_NOT_AVAILABLE: { action: 'retry' },
  NOT_LEADER_FOR_PARTITION: { action: 'retry' },
  NOT_ENOUGH_REPLICAS: { action: 'retry' },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: { action: 'retry' },
  REQUEST_TIMED_OUT: { action: 'retry' },
  NETWORK_EXCEPTION: { action: 'retry' },
  GROUP_LOAD_IN_PROGRESS: { action: 'retry' },
  GROUP_COORDINATOR_NOT_AVAILABLE: { action: 'retry' },
  NOT_COORDINATOR_FOR_GROUP: { action: 'retry' },
  KAFKA_STORAGE_ERROR: { action: 'retry' },
  OUT_OF_ORDER_SEQUENCE_NUMBER: { action: 'retry' },
  // Configuration and permissions: an operator has to act.
  TOPIC_AUTHORIZATION_FAILED: { action: 'fail' },
  CLUSTER_AUTHORIZATION_FAILED: { action: 'fail' },
  GROUP_AUTHORIZATION_FAILED: { action: 'fail' },
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: { action: 'fail' },
  SASL_AUTHENTICATION_FAILED: { action: 'fail' },
  UNSUPPORTED_VERSION: { action: 'fail' },
  UNSUPPORTED_COMPRESSION_TYPE: { action: 'fail' },
  INVALID_REQUIRED_ACKS: { action: 'fail' },
  INVALID_TOPIC_EXCEPTION: { action: 'fail' },
  POLICY_VIOLATION: { action: 'fail' },
};

/** kafkajs error classes by name (errors without a protocol type). */
export const CLIENT_ERRORS: Readonly<Record<string, KafkaErrorAction>> = {
  KafkaJSConnectionError: 'retry',
  KafkaJSConnectionClosedError: 'retry',
  KafkaJSRequestTimeoutError: 'retry',
  KafkaJSBrokerNotFound: 'retry',
  KafkaJSNoBrokerAvailableError: 'retry',
  KafkaJSMetadataNotLoaded: 'retry',
  KafkaJSTopicMetadataNotLoaded: 'retry',
  KafkaJSStaleTopicMetadataAssignment: 'retry',
  KafkaJSGroupCoordinatorNotFound: 'retry',
  KafkaJSLockTimeout: 'retry',
  KafkaJSTimeout: 'retry',
  KafkaJSSASLAuthenticationError: 'fail',
  KafkaJSServerDoesNotSupportApiKey: 'fail',
  KafkaJSNotImplemented: 'fail',
  KafkaJSInvariantViolation: 'fail',
};

/** Wrappers that only say what happened to the error inside them. */
const WRAPPERS = new Set(['KafkaJSNonRetriableError', 'KafkaJSNumberOfRetriesExceeded']);

interface ErrorLike {
  name?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
}

/**
 * Classifies an error thrown by kafkajs (or anything else: errors that are not Kafka's are retried
 * unless they say `retriable: false`, and programmer errors are left to the retry helper).
 *
 * @example
 * classifyKafkaError(err); // { action: 'dead_letter', reason: 'oversized', name: 'MESSAGE_TOO_LARGE' }
 */
export function classifyKafkaError(err: unknown): KafkaErrorClass {
  const chain: ErrorLike[] = [];
  for (let e: unknown = err; e && typeof e === 'object' && chain.length < 8; e = (e as ErrorLike).cause) chain.push(e as ErrorLike);
  for (const e of chain) {
    const byType = e.type ? PROTOCOL_ERRORS[e.type] : undefined;
    if (byType) return { ...byType, name: e.type! };
  }
  for (const e of chain) {
    if (!e.name || WRAPPERS.has(e.name)) continue;
    const byName = CLIENT_ERRORS[e.name];
    if (byName) return { action: byName, name: e.name };
  }
  // Not in the tables: kafkajs's flag on the innermost error decides.
  const inner = chain.at(-1);
  const name = inner?.type ?? inner?.name ?? 'Error';
  return { action: inner?.retriable === false ? 'fail' : 'retry', name };
}

/** For `retry({ shouldRetry })`: only what the table calls retriable. */
export const isRetriableKafkaError = (err: unknown): boolean => classifyKafkaError(err).action === 'retry';

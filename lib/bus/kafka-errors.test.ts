import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { classifyKafkaError, isRetriableKafkaError } from './kafka-errors.ts';

// The constructors as kafkajs's sources define them (its type declarations omit the options).
type ErrorClass = new (e: unknown, opts?: Record<string, unknown>) => Error;
const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSRequestTimeoutError, KafkaJSSASLAuthenticationError } = kafkajs as unknown as Record<
  | 'KafkaJSConnectionError'
  | 'KafkaJSNonRetriableError'
  | 'KafkaJSNumberOfRetriesExceeded'
  | 'KafkaJSProtocolError'
  | 'KafkaJSRequestTimeoutError'
  | 'KafkaJSSASLAuthenticationError',
  ErrorClass
>;

/** A broker error as kafkajs builds it from a response's error code. */
const protocol = (type: string, retriable: boolean) => new KafkaJSProtocolError({ type, code: 0, retriable, message: type });

describe('kafka error classification', () => {
  it('dead-letters what the broker refuses for the record itself, and never retries it', () => {
    for (const [type, reason] of [
      ['MESSAGE_TOO_LARGE', 'oversized'],
      ['RECORD_LIST_TOO_LARGE', 'oversized'],
      ['INVALID_TIMESTAMP', 'schema_violation'],
      ['INVALID_RECORD', 'schema_violation'],
    ] as const) {
      const err = protocol(type, false);
      assert.deepEqual(classifyKafkaError(err), { action: 'dead_letter', reason, name: type });
      // As the producer throws it after its own retrier gave up on it.
      assert.deepEqual(classifyKafkaError(new KafkaJSNonRetriableError(err, { cause: err })), { action: 'dead_letter', reason, name: type });
      assert.equal(isRetriableKafkaError(err), false);
    }
  });

  it('retries lost connections, timeouts and a moving leader, also when kafkajs has given up on them', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    assert.deepEqual(classifyKafkaError(refused), { action: 'retry', name: 'KafkaJSConnectionError' });
    assert.deepEqual(classifyKafkaError(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 1000 })), { action: 'retry', name: 'KafkaJSConnectionError' });
    assert.equal(classifyKafkaError(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out')).action, 'retry');
    assert.equal(classifyKafkaError(protocol('NOT_LEADER_FOR_PARTITION', true)).action, 'retry');
    assert.equal(classifyKafkaError(protocol('UNKNOWN_TOPIC_OR_PARTITION', true)).action, 'retry');
  });

  it('fails at once on what an operator has to fix, and follows kafkajs for the rest', () => {
    assert.deepEqual(classifyKafkaError(protocol('TOPIC_AUTHORIZATION_FAILED', false)), { action: 'fail', name: 'TOPIC_AUTHORIZATION_FAILED' });
    assert.equal(classifyKafkaError(new KafkaJSSASLAuthenticationError('SASL PLAIN authentication failed')).action, 'fail');
    assert.deepEqual(classifyKafkaError(protocol('INVALID_PRODUCER_EPOCH', false)), { action: 'fail', name: 'INVALID_PRODUCER_EPOCH' });
    assert.deepEqual(classifyKafkaError(protocol('REPLICA_NOT_AVAILABLE', true)), { action: 'retry', name: 'REPLICA_NOT_AVAILABLE' });
    assert.equal(classifyKafkaError(new Error('something else')).action, 'retry');
  });
});

/**
 * The settings deployments add to lib/config.ts: Kafka TLS and SASL for kafkajs, the topics'
 * replication factor, and the ClickHouse cluster of the store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, kafkaSecurity, loadEnv, storeConfig } from '../lib/config.ts';

describe('deployment settings', () => {
  it('passes no TLS or SASL by default', () => {
    const env = loadEnv({});
    assert.deepEqual(kafkaSecurity(env), {});
    assert.equal(env.KAFKA_REPLICATION_FACTOR, 1);
  });

  it('turns on TLS, with the CA of a file', () => {
    assert.deepEqual(kafkaSecurity(loadEnv({ KAFKA_SSL: 'true' })), { ssl: true });
    const dir = mkdtempSync(join(tmpdir(), 'kafka-ca-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      assert.deepEqual(kafkaSecurity(loadEnv({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'ca.pem') })), { ssl: { ca: ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'] } });
      assert.throws(() => kafkaSecurity(loadEnv({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'missing.pem') })), (e: Error) => e instanceof ConfigError && /KAFKA_SSL_CA_FILE/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => kafkaSecurity(loadEnv({ KAFKA_SSL_CA_FILE: '/etc/ca.pem' })), /KAFKA_SSL is not true/);
    assert.throws(() => loadEnv({ KAFKA_SSL: 'yes' }), /KAFKA_SSL/);
  });

  it('passes SASL credentials, and names what is missing', () => {
    assert.deepEqual(kafkaSecurity(loadEnv({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'outage', KAFKA_SASL_PASSWORD: 'pw' })), {
      sasl: { mechanism: 'scram-sha-512', username: 'outage', password: 'pw' },
    });
    assert.throws(() => kafkaSecurity(loadEnv({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'outage' })), /needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
    assert.throws(() => kafkaSecurity(loadEnv({ KAFKA_SASL_USERNAME: 'outage', KAFKA_SASL_PASSWORD: 'pw' })), /without KAFKA_SASL_MECHANISM/);
    assert.throws(() => loadEnv({ KAFKA_SASL_MECHANISM: 'gssapi' }), /KAFKA_SASL_MECHANISM/);
  });

  it('puts the ClickHouse cluster on the store, and only on a server', () => {
    assert.deepEqual(storeConfig(loadEnv({ CLICKHOUSE_URL: 'http://u:p@ch:8123', CLICKHOUSE_CLUSTER: 'outage_cluster' })), { kind: 'server', url: 'http://u:p@ch:8123', cluster: 'outage_cluster' });
    assert.deepEqual(storeConfig(loadEnv({ CLICKHOUSE_URL: 'http://ch:8123' })), { kind: 'server', url: 'http://ch:8123' });
    assert.throws(() => storeConfig(loadEnv({ CLICKHOUSE_CLUSTER: 'c' })), /CLICKHOUSE_CLUSTER is set without CLICKHOUSE_URL/);
    assert.throws(() => loadEnv({ CLICKHOUSE_CLUSTER: "c'; DROP" }), /CLICKHOUSE_CLUSTER/);
    assert.equal(loadEnv({ KAFKA_REPLICATION_FACTOR: '3' }).KAFKA_REPLICATION_FACTOR, 3);
  });
});

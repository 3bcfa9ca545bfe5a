/** `outage publish <dir>`: a scenario directory onto Kafka, for the services running as their own processes. */
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { ConfigError, kafkaSecurity, loadEnv } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import { feedScenario } from '../../lib/scenario/feed.ts';
import { KafkaBus } from '../../lib/bus/kafka-bus.ts';
import { printInputError } from '../output.ts';

export function register(program: Command): void {
  program
    .command('publish')
    .description('publish a scenario directory to Kafka (KAFKA_BROKERS) in event-time order, for the services running as their own processes')
    .argument('<dir>', 'scenario directory (as for replay)')
    .action(async (dir: string) => {
      const env = loadEnv();
      if (!env.KAFKA_BROKERS) throw new ConfigError('KAFKA_BROKERS is not set: publish sends the scenario to a Kafka cluster');
      const logger = createLogger('publish', env.LOG_LEVEL as LevelWithSilent);
      const bus = new KafkaBus({
        brokers: env.KAFKA_BROKERS.split(','),
        clientId: `${env.KAFKA_CLIENT_ID}-publish`,
        logger,
        topicPrefix: env.KAFKA_TOPIC_PREFIX,
        replicationFactor: env.KAFKA_REPLICATION_FACTOR,
        ...kafkaSecurity(env),
      });
      try {
        await bus.ensureTopics();
        const started = performance.now();
        const r = await feedScenario({ dir, bus, onInputError: printInputError });
        const e = r.events;
        process.stdout.write(
          `published ${e.reports} reports, ${e.posts} status posts, ${e.probes} probe results, ${e.certs} certificate observations to ${env.KAFKA_BROKERS} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
        );
        if (r.lines.accepted === 0 && r.lines.refused > 0) {
          process.stderr.write(`error: ${dir}: every input line was refused (${r.lines.refused}, listed above): nothing was published\n`);
          process.exitCode = 1;
        }
      } finally {
        await bus.close();
      }
    });
}

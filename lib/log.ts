/**
 * Structured JSON logs (pino), always on stderr: stdout belongs to command output such as
 * `replay --format ndjson`.
 */
import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

export type Logger = PinoLogger;

export function createLogger(name: string, level: LevelWithSilent = 'info'): Logger {
  return pino({ name, level, base: { service: name } }, pino.destination({ fd: 2, sync: true }));
}

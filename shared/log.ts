/** Structured log lines (JSON on stderr). Fields carry registryHost, repository, tag, digest, eventId. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Detail an operator rarely needs (an aborted upload); written only with TAGWARDEN_LOG_LEVEL=debug. */
  debug?(message: string, fields?: LogFields): void;
}

type Level = keyof Logger;

const debugOn = () => process.env.TAGWARDEN_LOG_LEVEL === 'debug';

/** One JSON object per line, handed to `write` with its level. */
function jsonLines(write: (level: Level, line: string) => void): Logger {
  const log =
    (level: Level) =>
    (message: string, fields: LogFields = {}) =>
      write(level, JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
  const debug = log('debug');
  return {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: (message, fields) => {
      if (debugOn()) debug(message, fields);
    },
  };
}

export function jsonLogger(write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  return jsonLines((_level, line) => write(`${line}\n`));
}

/**
 * The same lines through `console`, which the Azure Functions worker captures (into Application
 * Insights traces, with the level), unlike writes to process.stderr.
 */
export function consoleLogger(): Logger {
  return jsonLines((level, line) => console[level](line));
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

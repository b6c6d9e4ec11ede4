import { type Command, Option } from 'commander';
import { CliError } from './cli-io';
import { DEFAULT_DB_PATH } from './dependencies';

/** The history options of a command: `--db` as given, `--db-env` the variable to read it from. */
export interface DbOptions<Db extends string | undefined = string> {
  db: Db;
  dbEnv?: string;
}

/**
 * Adds `--db` and `--db-env <name>` to a command that opens the history. `--db-env` reads the
 * history's file or `postgres://` URL from the environment, so a password is neither on the command
 * line nor in `ps`; given with `--db` it is refused (commander's one line, exit 1). `db` is the
 * command's own `--db` (and `envHelp` its help) when it differs from the SQLite-or-PostgreSQL default
 * (replay's copied file).
 */
export function withDbOptions(
  command: Command,
  db: Option = new Option('--db <file|url>', 'SQLite history file, or a postgres:// URL').default(
    DEFAULT_DB_PATH,
  ),
  envHelp = 'read --db from this environment variable (keeps a postgres:// URL and its password out of the command line)',
): Command {
  return command.addOption(db).addOption(new Option('--db-env <name>', envHelp).conflicts('db'));
}

/** `--db`, or the value of the environment variable `--db-env` names (set and not empty). */
export function historyLocation<Db extends string | undefined>(options: DbOptions<Db>): Db | string {
  if (options.dbEnv === undefined) return options.db;
  const name = options.dbEnv;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new CliError(`--db-env ${JSON.stringify(name)}: not an environment variable name`);
  const value = process.env[name];
  if (!value) throw new CliError(`--db-env ${name}: the environment variable ${name} is not set`);
  return value;
}

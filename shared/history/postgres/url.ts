/** Whether `--db` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** The URL with its password replaced, for logs and errors: `postgres://app:***@db:5432/tagwarden`. */
export function redactPostgresUrl(db: string): string {
  try {
    const url = new URL(db);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return db.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
  }
}

const EXPECTED = ' (expected postgres://user:password@host:5432/database)';

/**
 * Checks a PostgreSQL URL before connecting: null when usable, else what is wrong (never echoing the
 * password).
 */
export function postgresUrlProblem(db: string): string | null {
  let url: URL;
  try {
    url = new URL(db);
  } catch {
    return `${redactPostgresUrl(db)} is not a valid URL${EXPECTED}`;
  }
  if (!url.hostname && !url.searchParams.get('host'))
    return `${redactPostgresUrl(db)} names no host${EXPECTED}`;
  if (url.pathname.length <= 1) return `${redactPostgresUrl(db)} names no database${EXPECTED}`;
  return null;
}

/** An error from connecting or migrating, in one line without the password. */
export function postgresErrorText(db: string, error: unknown): string {
  const url = new URL(db);
  const secrets = [url.password, decodeURIComponent(url.password)].filter((s) => s.length > 0);
  let text = error instanceof Error ? error.message : String(error);
  for (const secret of secrets) text = text.split(secret).join('***');
  return `cannot open the PostgreSQL history at ${redactPostgresUrl(db)}: ${text.split('\n')[0]}`;
}

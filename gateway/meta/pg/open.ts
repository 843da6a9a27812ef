import { PgDb, type PgDbOptions } from './db.js';
import { migratePg } from './migrate.js';

/** The metadata database could not be reached or would not let us in. */
export class MetaUnreachableError extends Error {
  code = 'ERR_META_UNREACHABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MetaUnreachableError';
  }
}

/** Connects to the PostgreSQL metadata database at `url` and brings its schema up to date. */
export async function openPg(url: string, opts: PgDbOptions = {}): Promise<PgDb> {
  const db = new PgDb(url, opts);
  try {
    // Keys are UTF-8 and listed in UTF-8 byte order: a database in another encoding would
    // refuse some keys or order them otherwise.
    const enc = await db.one<{ e: string }>(`SELECT current_setting('server_encoding') AS e`);
    if (enc?.e !== 'UTF8') {
      throw new Error(`the metadata database ${redactUrl(url)} is encoded ${enc?.e ?? '(unknown)'}; create it with ENCODING 'UTF8' (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)`);
    }
    await migratePg(db);
    return db;
  } catch (err) {
    await db.close().catch(() => undefined);
    throw explainConnectError(err, url) ?? err;
  }
}

/** A message that says what to check, for the errors of reaching a server; else undefined. */
export function explainConnectError(err: unknown, url: string): MetaUnreachableError | undefined {
  const e = err as { code?: string; message?: string };
  const where = redactUrl(url);
  const reason = e.message ?? String(err);
  const fail = (what: string): MetaUnreachableError =>
    new MetaUnreachableError(`cannot open the metadata database ${where}: ${reason}. ${what}`, { cause: err });
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
    case 'ETIMEDOUT':
      return fail('Check that PostgreSQL runs and listens on that host and port (listen_addresses, port, firewalls).');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail('Check the host name in the URL.');
    case '28P01':
    case '28000':
      return fail('Check the user and password in the URL, and pg_hba.conf on the server.');
    case '3D000':
      return fail('Create the database first (CREATE DATABASE ...), or fix its name in the URL.');
    case '57P03':
    case '53300':
      return fail('The server is starting, shutting down or out of connections: try again, or raise max_connections.');
    case '42501':
      return fail('The user may not create tables there: grant it CREATE on the schema, or run the first start as the owner.');
    default:
      if (/timeout|terminated unexpectedly|ssl/i.test(reason)) {
        return fail('Check that the server is reachable from here, and its SSL settings (sslmode in the URL).');
      }
      return undefined;
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

/** The parts of a SigV4 credential and timestamp, shared by header and query authentication. */

export interface Credential {
  accessKeyId: string;
  /** `YYYYMMDD` */
  date: string;
  region: string;
  service: string;
  /** `date/region/service/aws4_request`, as in the string to sign. */
  scope: string;
}

/**
 * Parses `AKID/YYYYMMDD/region/service/aws4_request`. Returns a reason on failure; the caller
 * picks the error code (header and query authentication report them differently).
 */
export function parseCredential(value: string): Credential | string {
  const parts = value.split('/');
  if (parts.length < 5) return 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".';
  // Split from the end: the four scope fields have fixed meaning, the key id is the rest.
  const [date, region, service, terminal] = parts.slice(-4) as [string, string, string, string];
  const accessKeyId = parts.slice(0, -4).join('/');
  if (accessKeyId === '' || !/^\d{8}$/.test(date) || region === '') {
    return 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".';
  }
  if (service !== 's3') return `incorrect service "${service}". This endpoint belongs to "s3".`;
  if (terminal !== 'aws4_request') return `incorrect terminal "${terminal}". This endpoint uses "aws4_request".`;
  return { accessKeyId, date, region, service, scope: `${date}/${region}/${service}/aws4_request` };
}

/** `YYYYMMDDTHHMMSSZ` to a Date, or undefined when it is not exactly that. */
export function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC takes years 0-99 for 1900-1999: set the year written.
  date.setUTCFullYear(y, mo - 1, d);
  // Reject out-of-range fields (month 13, hour 25) that Date.UTC would roll over.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || date.getUTCHours() !== h || date.getUTCMinutes() !== mi || date.getUTCSeconds() !== s) {
    return undefined;
  }
  return date;
}

/** A Date as `YYYYMMDDTHHMMSSZ`. */
export function formatAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

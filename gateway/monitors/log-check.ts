import { isName } from '../ledger/types.js';
import { openStatement, parseMonitorKey, sameFields, type MonitorJwk, type MonitorKeyRecord, type MonitorLogRecord } from './statement.js';

/**
 * The monitor entries of a report log, read in log order: which keys are registered at each
 * point (entries of kind `monitor-key`), and for each `monitor` entry, whether it holds what a
 * registered monitor signed. Used offline by the report log's verification, and by the
 * gateway (without the signature checks it already made) to know the monitors.
 */
export class MonitorLogState {
  readonly keys = new Map<string, MonitorJwk>();
  /** Where each monitor's last statement in the log ends: periods only move forward. */
  readonly lastEnd = new Map<string, number>();

  /** Take a `monitor-key` entry into account; the reason it is malformed, if it is. */
  applyKey(p: Partial<MonitorKeyRecord>): string | undefined {
    if (!isName(p.monitor)) return 'a monitor-key entry without a monitor name';
    if (p.jwk === null) {
      this.keys.delete(p.monitor);
      return undefined;
    }
    const k = parseMonitorKey(p.jwk);
    if (!k.ok) return `monitor-key of ${p.monitor}: ${k.reason}`;
    this.keys.set(p.monitor, k.jwk);
    return undefined;
  }

  /** Take a `monitor` entry the gateway checked when it logged it into account (its own log). */
  note(p: Partial<MonitorLogRecord>): void {
    if (isName(p.monitor) && typeof p.periodEnd === 'number') this.lastEnd.set(p.monitor, Math.max(p.periodEnd, this.lastEnd.get(p.monitor) ?? 0));
  }

  /**
   * Check a `monitor` entry: its monitor registered before it, the statement signed by that
   * key for this gateway (`gatewayKid`, when known), the entry's fields the signed ones, and
   * its period after the monitor's previous one. The reason it fails, if it does.
   */
  async check(p: Partial<MonitorLogRecord>, gatewayKid: string | undefined): Promise<string | undefined> {
    if (!isName(p.monitor)) return 'a monitor entry without a monitor name';
    const jwk = this.keys.get(p.monitor);
    if (!jwk) return `monitor ${p.monitor} is not registered at this point of the log`;
    let s;
    try {
      s = await openStatement(String(p.statement), jwk);
    } catch (err) {
      return `the statement of monitor ${p.monitor} does not verify with its registered key (${(err as Error).message}): it was altered or not signed by the monitor`;
    }
    if (s.monitor !== p.monitor || !sameFields(p as MonitorLogRecord, s)) return `the entry does not repeat what monitor ${p.monitor} signed`;
    if (gatewayKid !== undefined && s.gateway !== gatewayKid) return `monitor ${p.monitor}'s statement was signed for another gateway (${s.gateway})`;
    const last = this.lastEnd.get(p.monitor);
    if (last !== undefined && s.periodStart < last) return `period of monitor ${p.monitor} goes back in time`;
    this.lastEnd.set(p.monitor, s.periodEnd);
    return undefined;
  }
}

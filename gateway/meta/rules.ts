/**
 * The decisions the metadata store makes about a key's versions: whether a conditional write
 * may commit, and whether Object Lock protects a version. Pure functions of rows.
 */
import { MetaObjectLockedError } from './errors.js';
import type { LockReason, ObjectLockState, VersionRow, WriteCondition, WriteConditionFailure } from './types.js';

/** Why `condition` does not hold for the key's current version, or undefined when it does. */
export function writeConditionFailure(current: { etag: string } | undefined, condition: WriteCondition): WriteConditionFailure | undefined {
  if (condition.ifNoneMatch && current) return 'exists';
  if (condition.ifMatch !== undefined) {
    if (!current) return 'absent';
    if (condition.ifMatch !== '*' && condition.ifMatch !== current.etag) return 'etag-mismatch';
  }
  return undefined;
}

/** Why a version may not be deleted now, if it may not. GOVERNANCE yields to `bypass`. */
export function lockReason(lock: ObjectLockState, bypassGovernance: boolean, now: number): LockReason | undefined {
  if (lock.legalHold) return 'legal-hold';
  if (lock.mode && lock.retainUntil !== null && lock.retainUntil > now) {
    if (lock.mode === 'COMPLIANCE') return 'compliance';
    if (!bypassGovernance) return 'governance';
  }
  return undefined;
}

/** Throws MetaObjectLockedError when Object Lock protects `row` now. */
export function checkLock(row: VersionRow, bypassGovernance: boolean, now: number): void {
  const reason = lockReason(row.lock, bypassGovernance, now);
  if (reason) throw new MetaObjectLockedError(reason, `${row.bucket}/${row.key} version ${row.versionId} is locked (${reason})`);
}

import {
  applyEvent, applyScheduled, cloneState, eraOf, eraWindow, feeAmount, openLedger, settleEra, storeStatus,
  type EraSummary, type LedgerEvent, type LedgerState, type ServiceReport, type StoreStatus,
} from '../ledger/index.js';
import { LedgerTailMovedError } from '../meta/ledger-log.js';
import type { ReportStore } from '../meta/reports.js';
import { entryPayload } from '../reports/jws.js';
import { entriesHash, eraService, recompute, stateHash, type Recomputed } from './recompute.js';
import { toRecord, type EventRecord, type LogRecord, type SettlementRecord } from './records.js';
import type { LedgerLog, LedgerTail } from './log.js';

/** An event the ledger would refuse: nothing was logged. */
export class LedgerRefusedError extends Error {
  code = 'ERR_LEDGER_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'LedgerRefusedError';
  }
}

/** The economy is off: no genesis was logged. */
export class LedgerOffError extends Error {
  code = 'ERR_LEDGER_OFF';
  constructor() {
    super('the economy is off: this gateway has no ledger genesis (set SHARDGATE_LEDGER_GENESIS, docs/economy.md)');
    this.name = 'LedgerOffError';
  }
}

/** The genesis as configured: allocations and parameters, and the events logged right after it. */
export interface GenesisSpec {
  at?: number;
  allocations: Array<{ account: string; amount: string | number }>;
  params?: Record<string, string | number>;
  /** Events (without v and at) logged right after the genesis, e.g. the deposits that activate stores. */
  events?: Array<Record<string, unknown>>;
}

/** What an era's settlement takes from outside the logs, at the time it is settled. */
export interface SettlementInputs {
  zones: SettlementRecord['zones'];
  /** The report log's last sequence number. */
  reportsThrough: number;
  /** Who pays the era's fee (an operator account name), if anyone. */
  operator?: string;
  now?: number;
}

const MAX_ATTEMPTS = 5;

/**
 * The gateway's view of the economy: the ledger-event log and the report log read back and
 * recomputed exactly as an auditor would (recompute.ts), the preview that placement reads
 * (the settled state plus every event logged since: a deposit activates a store as soon as it
 * is logged; rewards and slashes wait for the era's settlement), and the writes: events and
 * settlements, signed against the tail and retried from a fresh read when another writer
 * appended first. Writes in this process are serialised.
 */
export class LedgerBook {
  private records: LogRecord[] = [];
  private tailSeen: LedgerTail | undefined;
  private reports: ServiceReport[] = [];
  private reportsSeq = 0;
  private view: Recomputed | undefined;
  private previewState: LedgerState | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly log: LedgerLog, private readonly reportStore: ReportStore) {}

  /** Whether a genesis was logged. */
  get on(): boolean {
    return this.view !== undefined;
  }

  /** The settled economy; throws LedgerOffError without a genesis. */
  get current(): Recomputed {
    if (!this.view) throw new LedgerOffError();
    return this.view;
  }

  /** The settled state with every event logged since applied: what placement and the admin API show. */
  get preview(): LedgerState {
    if (!this.previewState) throw new LedgerOffError();
    return this.previewState;
  }

  /** A store's status for placement; undefined while the economy is off (every store may take pieces). */
  status(store: string): StoreStatus | undefined {
    return this.previewState && storeStatus(this.previewState, store);
  }

  /** The genesis as logged (undefined while the economy is off). */
  get genesis(): EventRecord | undefined {
    return this.records[0] as EventRecord | undefined;
  }

  summary(era: number): EraSummary | undefined {
    return this.view?.summaries.find((s) => s.era === era);
  }

  /** Read what was appended since (by this gateway or another) and recompute when anything changed. */
  async sync(): Promise<void> {
    let changed = false;
    for (;;) {
      const page = await this.log.read(this.records.length);
      if (page.length === 0) break;
      for (const p of page) this.records.push(p.event);
      changed = true;
    }
    for (;;) {
      const page = await this.reportStore.page(this.reportsSeq, 1_000);
      if (page.length === 0) break;
      for (const e of page) this.reports.push(JSON.parse(entryPayload(e.jws)) as ServiceReport);
      this.reportsSeq = page[page.length - 1]!.seq;
      changed = true;
    }
    this.tailSeen = await this.log.tail();
    if (!changed || this.records.length === 0) return;
    const r = recompute(this.records, this.reports);
    if (!r.ok) throw new Error(`the ledger log does not replay: ${r.reason}`);
    this.view = r;
    this.previewState = previewOf(r);
  }

  /** Log the genesis (and the events it comes with) if the log is empty; a log that exists is kept as it is. */
  open(spec: GenesisSpec, now = Date.now()): Promise<boolean> {
    return this.write(async () => {
      if (this.records.length > 0) return false;
      const at = spec.at ?? now;
      const genesis = toRecord({ v: 1, type: 'genesis', at, allocations: spec.allocations, ...(spec.params && { params: spec.params }) });
      const opened = openLedger(genesis);
      if (!opened.ok) throw new LedgerRefusedError(`genesis: ${opened.reason}`);
      const state = cloneState(opened.state);
      const events: LogRecord[] = [];
      for (const body of spec.events ?? []) {
        const e = toRecord({ ...body, v: 1, at });
        const r = applyEvent(state, 0, e);
        if (!r.ok) throw new LedgerRefusedError(`genesis event ${JSON.stringify(body)}: ${r.reason}`);
        events.push(e);
      }
      await this.log.append(undefined, [genesis, ...events], opened.entries);
      return true;
    });
  }

  /** Log one event, if the ledger would accept it now; its `at` is the time it is logged. */
  submit(body: Record<string, unknown>, now = Date.now()): Promise<{ seq: number; at: number; era: number; event: EventRecord }> {
    if (body.type === 'genesis' || body.type === 'settlement') return Promise.reject(new LedgerRefusedError(`a ${String(body.type)} is not submitted`));
    return this.write(async (tail) => {
      const preview = this.preview;
      const at = this.nextAt(tail, now);
      const era = eraOf(preview, at);
      const event = toRecord({ ...body, v: 1, at }) as EventRecord;
      const trial = cloneState(preview);
      applyScheduled(trial, era);
      const r = applyEvent(trial, era, event);
      if (!r.ok) throw new LedgerRefusedError(r.reason);
      const [p] = await this.log.append(tail, [event]);
      return { seq: p!.seq, at, era, event };
    });
  }

  /**
   * Settle the next era (the one after the last settled) with `inputs`, record it with the
   * entries it produced and, when an operator is named, log its fee for the era's usage.
   * Returns the era's summary, or undefined when it is not over yet.
   */
  settleNext(inputs: SettlementInputs): Promise<EraSummary | undefined> {
    return this.write(async (tail) => {
      const view = this.current;
      const now = inputs.now ?? Date.now();
      const era = view.settledEra + 1;
      const window = eraWindow(view.state, era);
      if (now < window.end) return undefined;
      const service = eraService(inputs, window, this.reports);
      // settleEra parses each event again (applyEvent): a record read from the log is what it takes.
      const events = view.pending.filter((p) => p.era === era).map((p) => p.event) as unknown as LedgerEvent[];
      const out = settleEra(view.state, { era, events, service });
      if (out.summary === undefined) throw new Error(`era ${era} does not settle: ${out.rejections.map((r) => r.reason).join('; ')}`);
      const at = this.nextAt(tail, now);
      const s = out.summary;
      const record: SettlementRecord = {
        v: 1, type: 'settlement', at, era, reportsThrough: inputs.reportsThrough, zones: inputs.zones,
        entries: { from: out.entries[0]?.seq ?? view.state.nextSeq, count: out.entries.length, hash: entriesHash(out.entries) },
        stateHash: stateHash(out.state),
        totals: { minted: String(s.minted), burned: String(s.burned), slashed: String(s.slashed), rewardsPaid: String(s.rewardsPaid), fees: String(s.fees), supply: String(s.supply) },
      };
      const records: LogRecord[] = [record];
      const stored = service.stores.reduce((a, r) => a + r.storedByteHours, 0n);
      const served = service.stores.reduce((a, r) => a + r.servedBytes, 0n);
      // The era's usage is paid for in the era the fee is logged in (the next one): its amount is
      // only known once the era is over.
      if (inputs.operator !== undefined && feeAmount(out.state.params, stored, served) > 0n) {
        records.push(toRecord({ v: 1, type: 'fee', at, operator: inputs.operator, storedByteHours: stored, servedBytes: served, forEra: era }));
      }
      await this.log.append(tail, records, out.entries);
      return s;
    });
  }

  /**
   * When the next record is logged: now, but never before the last entry (events stay in time
   * order) nor inside an era already settled (its settlement would no longer replay).
   */
  private nextAt(tail: LedgerTail | undefined, now: number): number {
    const v = this.view;
    const open = v ? eraWindow(v.state, v.settledEra + 1).start : 0;
    return Math.max(now, tail?.at ?? 0, open);
  }

  /** Run a write after the others of this process, against a fresh tail; again from a fresh read if another writer got in first. */
  private write<T>(fn: (tail: LedgerTail | undefined) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        await this.sync();
        try {
          const out = await fn(this.tailSeen);
          await this.sync();
          return out;
        } catch (err) {
          if (!(err instanceof LedgerTailMovedError) || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}

/** The settled state with the events of later eras applied in log order (refused ones left out). */
export function previewOf(r: Recomputed): LedgerState {
  const s = cloneState(r.state);
  for (const { era, event } of r.pending) {
    if (!(era >= 0)) continue;
    applyScheduled(s, era);
    applyEvent(s, era, event);
  }
  return s;
}

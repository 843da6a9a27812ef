import Database from 'better-sqlite3';
import { SqliteLeaseStore } from '../../gateway/meta/leases.js';
import { MIGRATIONS } from '../../gateway/meta/migrations.js';
import { LeasedJob, type BackgroundJob } from '../../gateway/cluster/leased-job.js';

function store(): SqliteLeaseStore {
  const db = new Database(':memory:');
  db.exec(MIGRATIONS.find((m) => m.version === 18)!.sql);
  return new SqliteLeaseStore(db);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('leases', () => {
  it('one holder at a time; renewal by the holder; takeover after expiry raises the generation', async () => {
    const s = store();
    expect(await s.acquire('repair', 'a', 200)).toBe(true);
    expect(await s.acquire('repair', 'b', 200)).toBe(false);
    expect(await s.acquire('repair', 'a', 200)).toBe(true);
    expect((await s.list())[0]).toMatchObject({ name: 'repair', holder: 'a', generation: 1 });
    await sleep(250);
    expect(await s.acquire('repair', 'b', 200)).toBe(true);
    expect((await s.list())[0]).toMatchObject({ holder: 'b', generation: 2 });
  });

  it('a released lease is free at once', async () => {
    const s = store();
    expect(await s.acquire('gc', 'a', 60_000)).toBe(true);
    await s.release('gc', 'a');
    expect(await s.acquire('gc', 'b', 60_000)).toBe(true);
  });

  it('a leased job runs on one holder and moves when that holder stops renewing', async () => {
    const s = store();
    const runs: string[] = [];
    const job = (who: string): BackgroundJob => ({ start: () => runs.push(`start ${who}`), stop: async () => { runs.push(`stop ${who}`); } });
    const timing = { ttlMs: 300, renewMs: 100 };
    const a = new LeasedJob(s, 'scrub', 'a', () => job('a'), timing);
    const b = new LeasedJob(s, 'scrub', 'b', () => job('b'), timing);
    a.start();
    await sleep(50);
    b.start();
    await sleep(350);
    expect(a.active).toBe(true);
    expect(b.active).toBe(false);
    // a dies without releasing (no stop()): its renewals end, b takes over after the ttl.
    (a as unknown as { stopped: boolean }).stopped = true;
    await sleep(600);
    expect(b.active).toBe(true);
    expect(runs).toEqual(['start a', 'start b']);
    await b.stop();
    expect(runs).toEqual(['start a', 'start b', 'stop b']);
  });
});

import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  BatchOp, BatchStatus, encodeRequestHeader, FLAG_SYNC, RESULT_HEADER_BYTES,
} from '../../shard-store/batch-frames.js';
import { servePieceStream, type PieceStreamContext } from '../../shard-store/batch.js';
import { onClose } from '../helpers/registry.js';

/** A store whose appends finish at once and whose fdatasyncs finish when the test says. */
class SlowSyncStore {
  readonly events: string[] = [];
  private readonly syncs: Array<() => void> = [];

  appendRecords(records: ReadonlyArray<{ shardId: string; seg: number }>): Promise<Array<Error | null>> {
    for (const r of records) this.events.push(`append ${r.shardId}/${r.seg}`);
    return Promise.resolve(records.map(() => null));
  }

  sync(): Promise<void> {
    this.events.push('sync');
    return new Promise((resolve) => this.syncs.push(resolve));
  }

  finishSync(): void {
    this.events.push('synced');
    this.syncs.shift()!();
  }

  get pendingSyncs(): number {
    return this.syncs.length;
  }
}

const BLOB = Buffer.alloc(16, 7);

function put(id: number, seg: number): Buffer {
  const data = Buffer.alloc(100, seg);
  return Buffer.concat([encodeRequestHeader({ op: BatchOp.Put, flags: FLAG_SYNC, piece: 3, id, seg, blob: BLOB, offset: seg * 100, length: data.length }), data]);
}

async function serve(store: SlowSyncStore): Promise<{ sock: Socket; answers: number[] }> {
  const ctx = { store, lieOnRead: false, log: () => undefined } as unknown as PieceStreamContext;
  const server = createServer((s) => servePieceStream(s, { kid: 'test', fingerprint: 'f' }, ctx));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onClose(() => new Promise<void>((r) => server.close(() => r())));
  const sock = connect((server.address() as { port: number }).port, '127.0.0.1');
  onClose(() => void sock.destroy());
  await once(sock, 'connect');
  const answers: number[] = [];
  let buf = Buffer.alloc(0);
  sock.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= RESULT_HEADER_BYTES) {
      const length = buf.readUInt32LE(8);
      if (buf.length < RESULT_HEADER_BYTES + length) break;
      expect(buf.readUInt8(4)).toBe(BatchStatus.Ok);
      answers.push(buf.readUInt32LE(0));
      buf = buf.subarray(RESULT_HEADER_BYTES + length);
    }
  });
  return { sock, answers };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

describe('piece stream writes', () => {
  it('appends a later write while an earlier one is being synced, and answers each only once synced', async () => {
    const store = new SlowSyncStore();
    const { sock, answers } = await serve(store);
    const shard = `${BLOB.toString('hex')}.3`;

    sock.write(put(1, 0));
    await until(() => store.pendingSyncs === 1);
    // The first write's fdatasync is under way: the second is appended meanwhile, not after it.
    sock.write(put(2, 1));
    await until(() => store.pendingSyncs === 2);
    expect(store.events).toEqual([`append ${shard}/0`, 'sync', `append ${shard}/1`, 'sync']);
    await new Promise((r) => setTimeout(r, 20));
    expect(answers).toEqual([]);

    store.finishSync();
    await until(() => answers.length === 1);
    expect(answers).toEqual([1]);
    await new Promise((r) => setTimeout(r, 20));
    expect(answers).toEqual([1]);

    store.finishSync();
    await until(() => answers.length === 2);
    expect(answers).toEqual([1, 2]);
  });
});

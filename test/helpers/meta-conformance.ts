/**
 * One conformance suite for every metadata backend (MetaStore), as the codec engines share
 * theirs: each backend's test file calls these with how to open and close a fresh store. The
 * cases speak to the interface only, never to a database, so a case that passes on one
 * backend means the same on the other.
 */
import { afterEach, beforeEach, describe } from 'vitest';
import type { MetaStore } from '../../gateway/meta/meta-store.js';
import type { MetaCaseContext } from './meta-cases/fixtures.js';
import { conditionRaceCases } from './meta-cases/condition-races.js';
import { listingCases } from './meta-cases/listing.js';
import { notificationCases } from './meta-cases/notifications.js';
import { objectCases } from './meta-cases/objects.js';
import { putRaceCases } from './meta-cases/put-races.js';
import { quotaCases } from './meta-cases/quota.js';
import { raceCases, type MetaPairContext } from './meta-cases/races.js';
import { settingsCases } from './meta-cases/settings.js';
import { uploadCases } from './meta-cases/uploads.js';

/**
 * Every case against a fresh, empty store from `open` (bucket `b`, owner root, is created in
 * it), closed with `close` after each test.
 */
export function describeMetaConformance(name: string, open: () => Promise<MetaStore>, close: (meta: MetaStore) => Promise<void>): void {
  describe(`metadata conformance: ${name}`, () => {
    let current: MetaStore | undefined;
    const ctx: MetaCaseContext = {
      meta: () => current ?? (() => {
        throw new Error('no store open');
      })(),
    };
    beforeEach(async () => {
      current = await open();
      await current.createBucket('b', 'root', 'us-east-1');
    });
    afterEach(async () => {
      if (current) await close(current);
      current = undefined;
    });
    describe('objects and versions', () => objectCases(ctx));
    describe('listing', () => listingCases(ctx));
    describe('multipart uploads, completions, SSE-C', () => uploadCases(ctx));
    describe('bucket quotas', () => quotaCases(ctx));
    describe('event notifications', () => notificationCases(ctx));
    describe('settings, access keys, nodes', () => settingsCases(ctx));
  });
}

/**
 * The cases of several gateways on one database: `openPair` gives two stores (two
 * connections or pools) on one fresh database, with bucket `b` created through the first.
 * Pools of 16 or more let every racer of a case be in the database at once.
 */
export function describeMetaRaces(name: string, openPair: () => Promise<[MetaStore, MetaStore]>, close: (meta: MetaStore) => Promise<void>): void {
  describe(`metadata across gateways: ${name}`, () => {
    let current: [MetaStore, MetaStore] | undefined;
    const ctx: MetaPairContext = {
      pair: () => current ?? (() => {
        throw new Error('no stores open');
      })(),
    };
    beforeEach(async () => {
      current = await openPair();
      await current[0].createBucket('b', 'root', 'us-east-1');
    });
    afterEach(async () => {
      if (current) await Promise.all(current.map(close));
      current = undefined;
    });
    describe('one key, one upload, one bucket name', () => raceCases(ctx));
    describe('many PUTs at once on a new database', () => putRaceCases(ctx));
    describe('conditional writes, deletes and completions', () => conditionRaceCases(ctx));
  });
}

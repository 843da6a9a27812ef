/**
 * Every XML request document the gateway parses, from structured-but-hostile documents (their
 * own vocabulary in any shape, entities, CDATA, namespaces, comments, DOCTYPEs, billion
 * laughs, deep nesting, thousands of siblings, then string damage): each parser answers a
 * value or S3Error in bounded time. Documents built by the gateway's builder, or by the AWS
 * SDK's, parse back to what was built.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XmlNode as SdkNode, XmlText as SdkText } from '@aws-sdk/xml-builder';
import { buildAccessControlPolicy, parseAccessControlPolicy } from '../../gateway/s3/acl.js';
import { buildCorsConfiguration, parseCorsConfiguration } from '../../gateway/s3/cors.js';
import {
  buildTagging, parseCompleteMultipartUpload, parseCreateBucketConfiguration, parseDelete, parseTagging,
} from '../../gateway/s3/documents.js';
import { S3Error } from '../../gateway/s3/errors.js';
import { buildLifecycleConfiguration, parseLifecycleConfiguration, type LifecycleRule } from '../../gateway/s3/lifecycle.js';
import { buildObjectLockConfiguration, parseObjectLockConfiguration, parseRetention } from '../../gateway/s3/object-lock.js';
import { parseTagSet } from '../../gateway/s3/tagging.js';
import { buildVersioningConfiguration, parseVersioningConfiguration } from '../../gateway/s3/versioning.js';
import { buildXml, childrenOf, childOf, parseXml, textOf, type XmlElement, type XmlObject, type XmlValue } from '../../gateway/s3/xml.js';
import type { StoredAcl } from '../../gateway/access/acl-grants.js';
import { breathe, check, outcome, valueOf, type ErrorClass } from './fuzz.js';
import { documents, VOCABULARIES, type Vocabulary } from './xml-generators.js';

const NOW = Date.parse('2026-03-14T15:09:26Z');
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

/** Read a parsed document the way the handlers that parse inline do: every child as text, as one element and as a list. */
function walk(el: XmlObject): void {
  const typed = (fn: () => unknown): void => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof S3Error)) throw err;
    }
  };
  for (const name of Object.keys(el)) {
    typed(() => textOf(el, name));
    typed(() => childOf(el, name));
    for (const child of childrenOf(el, name)) walk(child);
  }
}

interface Doc extends Vocabulary {
  parse(body: string): unknown;
  errors?: readonly ErrorClass[];
}

const inline = (root: string) => (body: string): unknown => {
  const doc = parseXml(body, root);
  walk(doc);
  return doc;
};

/** How each document is parsed: its own function, or parseXml and a walk for those parsed inline by their handlers. */
const PARSERS: Record<string, (body: string) => unknown> = {
  CreateBucketConfiguration: parseCreateBucketConfiguration,
  CompleteMultipartUpload: parseCompleteMultipartUpload,
  Delete: parseDelete,
  Tagging: (b) => parseTagSet(b, 'object'),
  VersioningConfiguration: parseVersioningConfiguration,
  LifecycleConfiguration: parseLifecycleConfiguration,
  ObjectLockConfiguration: parseObjectLockConfiguration,
  Retention: (b) => parseRetention(b, NOW),
  AccessControlPolicy: (b) => parseAccessControlPolicy(Buffer.from(b), (id) => id === 'alice' || id === 'root'),
  CORSConfiguration: parseCorsConfiguration,
  PublicAccessBlockConfiguration: inline('PublicAccessBlockConfiguration'),
  ServerSideEncryptionConfiguration: inline('ServerSideEncryptionConfiguration'),
  LegalHold: inline('LegalHold'),
};

const DOCS: readonly Doc[] = VOCABULARIES.map((v) => ({ ...v, parse: PARSERS[v.root]! }));

describe('XML request documents: a value or S3Error, in bounded time', () => {
  for (const doc of DOCS) {
    it(doc.root, async () => {
      await check(fc.asyncProperty(documents(doc), fc.boolean(), async (text, asBuffer) => {
        await breathe();
        outcome(() => doc.parse(asBuffer ? (Buffer.from(text) as unknown as string) : text), doc.errors ?? [S3Error]);
      }), 0.4);
    });
  }
});

// ---------------------------------------------------------------------------------------
// Round trips

/** Element names to build with: some parse as lists always (REPEATED in xml.ts), some only when repeated. */
const LISTED = ['Part', 'Object', 'Tag', 'Rule', 'Grant', 'AllowedOrigin'];
const SINGLE = ['Key', 'Value', 'ETag', 'ID', 'Status', 'Prefix'];

/** Any Unicode text a key or value may hold (valid scalar values, control characters included). */
const anyText = fc.string({ unit: 'binary', maxLength: 24 });

type Built = Record<string, XmlValue>;

const builtNode: fc.Arbitrary<Built> = fc.letrec<{ node: Built; value: XmlValue }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, anyText, fc.integer().map((n) => n as XmlValue), tie('node')),
  node: fc.dictionary(fc.constantFrom(...LISTED, ...SINGLE), fc.oneof(tie('value'), fc.array(tie('value'), { minLength: 1, maxLength: 3, depthIdentifier: 'node' })), { maxKeys: 4, depthIdentifier: 'node' }),
})).node;

/** What parseXml gives back for what buildXml wrote. */
function expected(v: XmlValue): XmlElement {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  const out: XmlObject = {};
  for (const [name, child] of Object.entries(v as Built)) {
    const items = Array.isArray(child) ? child : [child];
    const parsed = items.map((c) => expected(c as XmlValue));
    out[name] = LISTED.includes(name) || parsed.length > 1 ? parsed : parsed[0]!;
  }
  return Object.keys(out).length ? out : '';
}

describe('XML round trips', () => {
  it('a document buildXml writes parses back to what was built (any text, control characters included)', () => {
    check(fc.property(builtNode, (node) => {
      const xml = buildXml('Doc', node);
      const parsed = valueOf(outcome(() => parseXml(xml, 'Doc'), [S3Error]));
      const want = expected(node);
      expect(parsed).toEqual(typeof want === 'string' ? {} : want);
    }));
  });

  it('Tagging: buildTagging and parseTagging', () => {
    const tags = fc.uniqueArray(fc.record({ key: anyText, value: anyText }), { maxLength: 10, selector: (t) => t.key });
    check(fc.property(tags, (tagSet) => {
      const parsed = valueOf(outcome(() => parseTagging(buildTagging({ tagSet })), [S3Error]));
      const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
      expect(parsed.tagSet).toEqual([...tagSet].sort(byKey));
    }));
  });

  it('VersioningConfiguration and ObjectLockConfiguration', () => {
    const lock = fc.option(fc.record({ mode: fc.constantFrom('GOVERNANCE' as const, 'COMPLIANCE' as const), period: fc.oneof(fc.record({ days: fc.integer({ min: 1, max: 36_500 }) }), fc.record({ years: fc.integer({ min: 1, max: 100 }) })) }), { nil: undefined });
    check(fc.property(fc.constantFrom('Enabled' as const, 'Suspended' as const), lock, (status, rule) => {
      expect(valueOf(outcome(() => parseVersioningConfiguration(buildVersioningConfiguration(status)), [S3Error]))).toBe(status);
      const config = rule ? { rule: { mode: rule.mode, ...rule.period } } : {};
      expect(valueOf(outcome(() => parseObjectLockConfiguration(buildObjectLockConfiguration(config)), [S3Error]))).toEqual(config);
    }));
  });

  it('LifecycleConfiguration', () => {
    // Rules with AbortIncompleteMultipartUpload, which S3 allows only without tag filters.
    const filter = fc.record({
      prefix: anyText, tags: fc.constant([] as { key: string; value: string }[]),
      sizeGreaterThan: fc.option(fc.nat(1e12), { nil: undefined }), sizeLessThan: fc.option(fc.integer({ min: 1, max: 1e12 }), { nil: undefined }),
    }, { requiredKeys: ['prefix', 'tags'] });
    const rule = fc.record({
      enabled: fc.boolean(), filter,
      expiration: fc.option(fc.oneof(
        fc.record({ days: fc.integer({ min: 1, max: 10_000 }) }),
        fc.integer({ min: 0, max: 50_000 }).map((d) => ({ date: Date.UTC(2020, 0, 1) + d * 86_400_000 })),
      ), { nil: undefined }),
      noncurrentExpiration: fc.option(fc.record({ days: fc.integer({ min: 1, max: 1000 }), newerNoncurrentVersions: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }) }, { requiredKeys: ['days'] }), { nil: undefined }),
      abortIncompleteUploadDays: fc.integer({ min: 1, max: 1000 }),
    }, { requiredKeys: ['enabled', 'filter', 'abortIncompleteUploadDays'] });
    check(fc.property(fc.array(rule, { minLength: 1, maxLength: 4 }), (rules) => {
      const withIds: LifecycleRule[] = rules.map((r, i) => ({ ...r, id: `rule-${i}` }));
      const parsed = valueOf(outcome(() => parseLifecycleConfiguration(buildLifecycleConfiguration(withIds)), [S3Error]));
      expect(parsed).toEqual(withIds.map((r) => JSON.parse(JSON.stringify(r)) as LifecycleRule));
    }));
  });

  it('AccessControlPolicy', () => {
    const grant = fc.record({
      grantee: fc.oneof(fc.constantFrom('alice', 'root').map((id) => ({ type: 'CanonicalUser' as const, id })), fc.constant({ type: 'Group' as const, uri: ALL_USERS })),
      permission: fc.constantFrom('READ' as const, 'WRITE' as const, 'READ_ACP' as const, 'WRITE_ACP' as const, 'FULL_CONTROL' as const),
    });
    check(fc.property(fc.array(grant, { maxLength: 6 }), (grants) => {
      const acl: StoredAcl = { grants };
      const parsed = valueOf(outcome(() => parseAccessControlPolicy(Buffer.from(buildAccessControlPolicy('alice', acl)), (id) => id === 'alice' || id === 'root'), [S3Error]));
      expect(parsed).toEqual(acl);
    }));
  });

  it('CORSConfiguration', () => {
    // At most one wildcard in an AllowedHeader, as AWS S3 allows.
    const token = fc.stringMatching(/^[a-z0-9][a-z0-9*-]{0,12}$/).filter((t) => t.indexOf('*') === t.lastIndexOf('*'));
    const rule = fc.record({
      id: fc.option(anyText, { nil: undefined }),
      allowedOrigins: fc.array(fc.constantFrom('*', 'http://a.example', 'https://*.example.com', 'http://localhost:8080'), { minLength: 1, maxLength: 3 }),
      allowedMethods: fc.uniqueArray(fc.constantFrom('GET', 'PUT', 'HEAD', 'POST', 'DELETE'), { minLength: 1, maxLength: 5 }),
      allowedHeaders: fc.array(token, { maxLength: 3 }),
      exposeHeaders: fc.array(fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/), { maxLength: 3 }),
      maxAgeSeconds: fc.option(fc.nat(1e9 - 1), { nil: undefined }),
    }, { requiredKeys: ['allowedOrigins', 'allowedMethods', 'allowedHeaders', 'exposeHeaders'] });
    check(fc.property(fc.array(rule, { minLength: 1, maxLength: 4 }), (rules) => {
      const parsed = valueOf(outcome(() => parseCorsConfiguration(buildCorsConfiguration(rules)), [S3Error]));
      expect(parsed).toEqual(rules.map((r) => JSON.parse(JSON.stringify(r)) as unknown));
    }));
  });

  it('Delete and CompleteMultipartUpload written by the AWS SDK parse to what was written', () => {
    const keys = fc.array(fc.record({ key: anyText, versionId: fc.option(fc.stringMatching(/^[A-Za-z0-9._+-]{1,20}$/), { nil: undefined }) }), { minLength: 1, maxLength: 20 });
    const parts = fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 20 }).map((ns) => ns.sort((a, b) => a - b));
    check(fc.property(keys, fc.boolean(), parts, (objects, quiet, numbers) => {
      const del = new SdkNode('Delete').addAttribute('xmlns', 'http://s3.amazonaws.com/doc/2006-03-01/');
      for (const o of objects) {
        const obj = new SdkNode('Object').addChildNode(new SdkNode('Key').addChildNode(new SdkText(o.key)));
        if (o.versionId !== undefined) obj.addChildNode(new SdkNode('VersionId').addChildNode(new SdkText(o.versionId)));
        del.addChildNode(obj);
      }
      del.addChildNode(new SdkNode('Quiet').addChildNode(new SdkText(String(quiet))));
      const parsed = valueOf(outcome(() => parseDelete(del.toString()), [S3Error]));
      expect(parsed).toEqual({ quiet, objects: objects.map((o) => ({ key: o.key, ...(o.versionId !== undefined && { versionId: o.versionId }) })) });

      const complete = new SdkNode('CompleteMultipartUpload');
      for (const n of numbers) {
        complete.addChildNode(new SdkNode('Part').addChildNode(new SdkNode('ETag').addChildNode(new SdkText(`"${n}"`))).addChildNode(new SdkNode('PartNumber').addChildNode(new SdkText(String(n)))));
      }
      const c = valueOf(outcome(() => parseCompleteMultipartUpload(complete.toString()), [S3Error]));
      expect(c.parts.map((p) => [p.partNumber, p.etag])).toEqual(numbers.map((n) => [n, `"${n}"`]));
    }));
  });
});

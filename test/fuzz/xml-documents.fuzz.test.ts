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
import { buildXml, childrenOf, childOf, escapeXmlText, parseXml, textOf, type XmlElement, type XmlObject, type XmlValue } from '../../gateway/s3/xml.js';
import type { StoredAcl } from '../../gateway/access/acl-grants.js';
import { check, hostileString, mutated, outcome, valueOf, type ErrorClass } from './fuzz.js';

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

interface Doc {
  root: string;
  /** Element names of the document, at any depth. */
  names: readonly string[];
  /** Plausible texts: what a real document holds there, and its near misses. */
  values: readonly string[];
  parse(body: string): unknown;
  errors?: readonly ErrorClass[];
}

const inline = (root: string) => (body: string): unknown => {
  const doc = parseXml(body, root);
  walk(doc);
  return doc;
};

const DOCS: readonly Doc[] = [
  { root: 'CreateBucketConfiguration', names: ['LocationConstraint', 'Location', 'Bucket', 'Name', 'Type'], values: ['us-east-1', 'EU', ''], parse: parseCreateBucketConfiguration },
  {
    root: 'CompleteMultipartUpload', names: ['Part', 'PartNumber', 'ETag', 'ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256'],
    values: ['1', '2', '10000', '10001', '0', '-1', '007', '999999999', '1e3', '"d41d8cd98f00b204e9800998ecf8427e"', 'AAAAAA=='], parse: parseCompleteMultipartUpload,
  },
  { root: 'Delete', names: ['Quiet', 'Object', 'Key', 'VersionId', 'ETag'], values: ['true', 'false', 'TRUE', 'k', ' k ', 'null', '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo'], parse: parseDelete },
  { root: 'Tagging', names: ['TagSet', 'Tag', 'Key', 'Value'], values: ['k', 'v', '', 'aws:x', 'a'.repeat(129), 'b'.repeat(257)], parse: (b) => parseTagSet(b, 'object') },
  { root: 'VersioningConfiguration', names: ['Status', 'MfaDelete'], values: ['Enabled', 'Suspended', 'Disabled', 'enabled', ''], parse: parseVersioningConfiguration },
  {
    root: 'LifecycleConfiguration',
    names: ['Rule', 'ID', 'Filter', 'Prefix', 'And', 'Tag', 'Key', 'Value', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'Status', 'Expiration', 'Days', 'Date',
      'ExpiredObjectDeleteMarker', 'NoncurrentVersionExpiration', 'NoncurrentDays', 'NewerNoncurrentVersions', 'AbortIncompleteMultipartUpload', 'DaysAfterInitiation',
      'Transition', 'StorageClass'],
    values: ['Enabled', 'Disabled', '1', '0', '30', '99999999999999999999', 'true', 'false', '2030-01-01T00:00:00Z', '2030-01-01T00:00:01Z', '2030-13-01', 'logs/', ''],
    parse: parseLifecycleConfiguration,
  },
  {
    root: 'ObjectLockConfiguration', names: ['ObjectLockEnabled', 'Rule', 'DefaultRetention', 'Mode', 'Days', 'Years'],
    values: ['Enabled', 'GOVERNANCE', 'COMPLIANCE', '1', '0', '-1', '36500', '1e400', '99999999999999999999'], parse: parseObjectLockConfiguration,
  },
  { root: 'Retention', names: ['Mode', 'RetainUntilDate'], values: ['GOVERNANCE', 'COMPLIANCE', '2030-01-01T00:00:00Z', '2030-01-01T00:00:00.000+02:00', '1999-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', 'x'], parse: (b) => parseRetention(b, NOW) },
  {
    root: 'AccessControlPolicy', names: ['Owner', 'ID', 'DisplayName', 'AccessControlList', 'Grant', 'Grantee', 'URI', 'EmailAddress', 'Permission'],
    values: ['alice', 'root', 'nobody', ALL_USERS, 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers', 'a@b.c', 'READ', 'WRITE', 'FULL_CONTROL', 'read'],
    parse: (b) => parseAccessControlPolicy(Buffer.from(b), (id) => id === 'alice' || id === 'root'),
  },
  {
    root: 'CORSConfiguration', names: ['CORSRule', 'ID', 'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader', 'MaxAgeSeconds'],
    values: ['*', 'http://*.example.com', 'GET', 'PUT', 'PATCH', 'x-amz-*', 'ETag', '3000', '-1'], parse: parseCorsConfiguration,
  },
  { root: 'PublicAccessBlockConfiguration', names: ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'], values: ['true', 'false', 'TRUE', ''], parse: inline('PublicAccessBlockConfiguration') },
  {
    root: 'ServerSideEncryptionConfiguration', names: ['Rule', 'ApplyServerSideEncryptionByDefault', 'SSEAlgorithm', 'KMSMasterKeyID', 'BucketKeyEnabled'],
    values: ['AES256', 'aws:kms', 'true'], parse: inline('ServerSideEncryptionConfiguration'),
  },
  { root: 'LegalHold', names: ['Status'], values: ['ON', 'OFF', 'on'], parse: inline('LegalHold') },
];

// ---------------------------------------------------------------------------------------
// Documents: a tree in the document's vocabulary, written with every XML feature and flaw

interface Tree {
  name: string;
  content: string | Tree[];
  style: { prefix: boolean; attrs: boolean; text: 'escaped' | 'raw' | 'cdata' | 'entities'; selfClose: boolean; comment: boolean };
}

const style = fc.record({
  prefix: fc.boolean(),
  attrs: fc.boolean(),
  text: fc.constantFrom('escaped' as const, 'escaped' as const, 'raw' as const, 'cdata' as const, 'entities' as const),
  selfClose: fc.boolean(),
  comment: fc.boolean(),
});

function trees(doc: Doc): fc.Arbitrary<Tree[]> {
  const name = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...doc.names) }, { weight: 1, arbitrary: fc.constantFrom(doc.root, 'x', 's3:Key', 'Foo-Bar', '_', 'a.b') });
  const text = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...doc.values) }, { weight: 2, arbitrary: hostileString(4) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) });
  const { forest } = fc.letrec<{ forest: Tree[]; tree: Tree }>((tie) => ({
    tree: fc.record({ name, content: fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, tie('forest')), style }),
    forest: fc.array(tie('tree'), { maxLength: 4, depthIdentifier: 'xml' }),
  }));
  return forest;
}

function writeText(s: string, how: Tree['style']['text']): string {
  switch (how) {
    case 'escaped': return escapeXmlText(s);
    case 'raw': return s;
    case 'cdata': return `<![CDATA[${s.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
    case 'entities': return Array.from(s, (c) => `&#${c.codePointAt(0)};`).join('');
  }
}

function write(t: Tree, prefixes: boolean): string {
  const tag = prefixes && t.style.prefix ? `s3:${t.name}` : t.name;
  const attrs = t.style.attrs ? ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser" a=\'1\'' : '';
  const inner = typeof t.content === 'string' ? writeText(t.content, t.style.text) : t.content.map((c) => write(c, prefixes)).join(t.style.comment ? '<!-- c -->' : '\n  ');
  if (inner === '' && t.style.selfClose) return `<${tag}${attrs}/>`;
  return `<${tag}${attrs}>${inner}</${tag}>`;
}

const prologue = fc.constantFrom(
  '', '<?xml version="1.0" encoding="UTF-8"?>\n', '\ufeff<?xml version="1.0"?>', '<?xml version="1.1"?>', '<?xml version="1.0" encoding="UTF-16"?>', '<!-- hi -->',
  '<?pi data?>', '<!DOCTYPE r [<!ENTITY e "x">]>', '<!doctype r>', '<!DOCTYPE r SYSTEM "file:///etc/passwd">', ' \n\t',
  // Billion laughs: entity definitions that expand exponentially, used below as &l9;.
  `<!DOCTYPE lolz [<!ENTITY l0 "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('')}]>`,
);
const epilogue = fc.constantFrom('', '\n', '<!-- trailing -->', '<Extra/>', 'junk', '</Other>', '&l9;');

function documents(doc: Doc): fc.Arbitrary<string> {
  const body = fc.record({ prologue, children: trees(doc), epilogue, rootAttrs: fc.constantFrom('', ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`, ' xmlns:s3="urn:x"'), entity: fc.boolean() })
    .map((d) => `${d.prologue}<${doc.root}${d.rootAttrs}>${d.entity ? '&l9;' : ''}${d.children.map((c) => write(c, d.rootAttrs.includes('xmlns:s3'))).join('')}</${doc.root}>${d.epilogue}`);
  // Deep nesting and long runs of siblings, past every limit a parser might keep.
  const deep = fc.tuple(fc.constantFrom(...doc.names), fc.integer({ min: 50, max: 20_000 })).map(([n, d]) => `<${doc.root}>${`<${n}>`.repeat(d)}x${`</${n}>`.repeat(d)}</${doc.root}>`);
  // Request bodies are read up to 64 KiB (1 MiB for lifecycle): a few times that is enough.
  const wide = fc.tuple(trees(doc), fc.integer({ min: 100, max: 3_000 })).map(([t, n]) => {
    const one = t.map((c) => write(c, false)).join('') || '<x/>';
    return `<${doc.root}>${one.repeat(Math.min(n, Math.ceil(256 * 1024 / one.length)))}</${doc.root}>`;
  });
  return fc.oneof({ weight: 12, arbitrary: mutated(body, 2) }, { weight: 1, arbitrary: deep }, { weight: 1, arbitrary: wide });
}

describe('XML request documents: a value or S3Error, in bounded time', () => {
  for (const doc of DOCS) {
    it(doc.root, () => {
      check(fc.property(documents(doc), fc.boolean(), (text, asBuffer) => {
        outcome(() => doc.parse(asBuffer ? (Buffer.from(text) as unknown as string) : text), doc.errors ?? [S3Error]);
      }), 0.5);
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
    const token = fc.stringMatching(/^[a-z0-9][a-z0-9*-]{0,12}$/);
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

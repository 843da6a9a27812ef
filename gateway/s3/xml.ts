import { XMLParser, XMLValidator, type EntityDecoderOptions } from 'fast-xml-parser';
import { S3Error } from './errors.js';

/** The namespace of every S3 response document (error documents excepted). */
export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/**
 * A document tree for `buildXml`: a key is an element name; a string/number/boolean is its
 * text, `null` or `''` an empty element, `undefined` no element at all, an array repeats
 * the element, an object nests.
 */
export type XmlValue = string | number | boolean | null | undefined | XmlNode | readonly XmlValue[];
export interface XmlNode {
  readonly [element: string]: XmlValue;
}

// Control characters cannot appear raw in XML 1.0 text, and a raw CR would be read back
// as LF by the client's parser; AWS S3 writes them as character references.
// eslint-disable-next-line no-control-regex -- the control characters are what it finds
const TEXT_ESCAPES = /[&<>"'\u0000-\u0008\u000b-\u001f]/g;
const NAMED: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

// eslint-disable-next-line no-control-regex -- as TEXT_ESCAPES
const NEEDS_ESCAPE = /[&<>"'\u0000-\u0008\u000b-\u001f]/;

/** Escape text content; keys may hold any of `&<>"'` and control characters. */
export function escapeXmlText(value: string): string {
  // Most text needs nothing: a test is cheaper than a replace that finds nothing.
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(TEXT_ESCAPES, (c) => NAMED[c] ?? `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`);
}

/**
 * One element and its content, as fast-xml-parser's XMLBuilder writes it with
 * `{ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false,
 * processEntities: false, tagValueProcessor: escapeXmlText }`: `null` is `<X/>`, `''` and an
 * empty object `<X></X>`, `undefined` nothing, an array repeats the element, `@_name` keys
 * are attributes and `#text` is text. Written by hand because a listing page of a thousand
 * entries spent more time in the builder than in the database (test/unit/xml-writer.test.ts
 * checks the two agree).
 */
function element(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) {
    let out = '';
    for (const v of value as readonly XmlValue[]) out += element(name, v);
    return out;
  }
  if (value === null) return `<${name}/>`;
  if (typeof value !== 'object') return `<${name}>${escapeXmlText(String(value))}</${name}>`;
  const node = value as XmlNode;
  let open = `<${name}`;
  let inner = '';
  for (const k in node) {
    const v = node[k];
    if (k.startsWith('@_')) {
      if (v !== undefined) open += ` ${k.slice(2)}="${String(v)}"`;
    } else if (k === '#text') {
      if (v !== undefined) inner += escapeXmlText(String(v));
    } else {
      inner += element(k, v);
    }
  }
  return `${open}>${inner}</${name}>`;
}

/**
 * Serialize one S3 response document: the XML declaration, then `root` carrying the S3
 * namespace, or none with `xmlns: null` (PostObject's PostResponse has none on AWS S3, and
 * clients look its elements up unqualified).
 */
export function buildXml(root: string, content: XmlNode, xmlns: string | null = S3_XMLNS): string {
  return XML_DECLARATION + '\n' + element(root, { ...(xmlns !== null && { '@_xmlns': xmlns }), ...content });
}

/** A document whose root holds text only (e.g. LocationConstraint). */
export function buildXmlText(root: string, text: string): string {
  return XML_DECLARATION + '\n' + element(root, { '@_xmlns': S3_XMLNS, '#text': text });
}

/** Element names that repeat in S3 request documents and must always parse as arrays. */
const REPEATED = new Set(['Part', 'Object', 'Contents', 'CommonPrefixes', 'Upload', 'Bucket', 'Tag', 'Rule', 'CORSRule',
  'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader', 'Grant']);

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

class EntityError extends Error {}

/**
 * XML's five named entities plus character references, nothing else: no DOCTYPE-declared
 * entities (so no expansion attacks) and no HTML names, which AWS S3 rejects too. A reference
 * may name any Unicode scalar value, control characters included: keys may hold them,
 * escapeXmlText writes them as references (as AWS S3 does), and the same characters sent raw
 * are read as they are; refusing only their escaped form would make a key our own listings
 * return impossible to name in DeleteObjects.
 */
const entityDecoder: EntityDecoderOptions = {
  setExternalEntities: () => undefined,
  addInputEntities: () => {
    throw new EntityError('entity declarations are not accepted');
  },
  reset: () => undefined,
  setXmlVersion: () => undefined,
  decode: (text: string) => text.replace(/&([^;&\s]*);?/g, (ref: string, name: string) => {
    if (!ref.endsWith(';')) throw new EntityError('bare & in text');
    const named = NAMED_ENTITIES[name];
    if (named !== undefined) return named;
    const m = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    const cp = m ? (m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2])) : NaN;
    if (!isScalarValue(cp)) throw new EntityError(`unknown or invalid reference ${ref}`);
    return String.fromCodePoint(cp);
  }),
};

/** A code point a string can hold on its own: not a surrogate half, not past U+10FFFF. */
function isScalarValue(cp: number): boolean {
  return cp >= 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // "007" stays a string, and so do ETags, version ids and keys that look like numbers.
  parseTagValue: false,
  // Keys may begin or end with spaces: keep text as sent, and drop only the whitespace
  // between elements (see `clean`).
  trimValues: false,
  processEntities: true,
  entityDecoder,
  isArray: (name: string) => REPEATED.has(name),
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/** A parsed element: its text, or its children by name (repeated names as arrays). */
export type XmlElement = string | XmlObject;
export interface XmlObject {
  [name: string]: XmlElement | XmlElement[];
}

/**
 * Parse an S3 request document and return its root element, which must be named `root`.
 * Anything that is not one well-formed element of that name, or that declares a DOCTYPE,
 * throws MalformedXML.
 */
export function parseXml(body: string | Buffer, root: string): XmlObject {
  // Some clients start the body with a UTF-8 byte order mark.
  const text = (typeof body === 'string' ? body : body.toString('utf8')).replace(/^\uFEFF/, '');
  if (/<!DOCTYPE/i.test(text)) throw malformedXml('DOCTYPE is not allowed');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw malformedXml(valid.err.msg);
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch (err) {
    throw malformedXml(err instanceof Error ? err.message : 'parse error', err);
  }
  const top = clean(doc);
  if (typeof top !== 'object') throw malformedXml('no root element');
  const names = Object.keys(top);
  const el = top[root];
  if (names.length !== 1 || el === undefined || Array.isArray(el)) {
    throw malformedXml(`expected root element ${root}, found ${names.join(', ') || 'none'}`);
  }
  return typeof el === 'string' ? {} : el;
}

/** MalformedXML, with the reason kept as `cause` for logs. */
export function malformedXml(why: string, cause?: unknown): S3Error {
  // The reason stays out of the client message, which is AWS's fixed text; it is kept as cause for logs.
  return new S3Error('MalformedXML', { cause: cause ?? new Error(why) });
}

/** Drop whitespace between elements; text mixed with elements is not S3 XML. */
function clean(node: unknown): XmlElement {
  if (typeof node === 'string') return node;
  if (node === null || typeof node !== 'object') return '';
  const out: XmlObject = {};
  for (const [name, value] of Object.entries(node as Record<string, unknown>)) {
    if (name === '#text') {
      if (typeof value === 'string' && value.trim() !== '') throw malformedXml('text mixed with elements');
      continue;
    }
    out[name] = Array.isArray(value) ? value.map(clean) : clean(value);
  }
  return out;
}

/** The single child `name` of `el`, or undefined. A repeated single element is MalformedXML. */
export function childOf(el: XmlObject, name: string): XmlElement | undefined {
  const v = el[name];
  if (Array.isArray(v)) {
    if (v.length > 1) throw malformedXml(`${name} repeated`);
    return v[0];
  }
  return v;
}

/** Text of the child `name` exactly as sent (whitespace kept), or undefined when absent. */
export function textOf(el: XmlObject, name: string): string | undefined {
  const v = childOf(el, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    if (Object.keys(v).length === 0) return '';
    throw malformedXml(`${name} must hold text`);
  }
  return v;
}

/** Children `name` of `el` as an array of elements (absent: empty). */
export function childrenOf(el: XmlObject, name: string): XmlObject[] {
  const v = el[name];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((item) => (typeof item === 'string' ? {} : item));
}

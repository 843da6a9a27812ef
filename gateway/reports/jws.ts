import { CompactSign, compactVerify, importJWK, type CryptoKey, type JWK, type KeyObject } from 'jose';

/**
 * The signing both public logs share (the report log and the ledger-event log): each entry
 * is a compact JWS by the gateway's EdDSA key, with a `typ` that names the log, so an entry
 * of one log can never pass for an entry of the other.
 */
export const LOG_ALG = 'EdDSA';

export interface LogSigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/** Sign `text` (the entry's payload) as a compact JWS of type `typ`. */
export function signEntry(text: string, typ: string, key: LogSigningKey): Promise<string> {
  return new CompactSign(new TextEncoder().encode(text))
    .setProtectedHeader({ alg: LOG_ALG, typ, kid: key.kid })
    .sign(key.privateKey);
}

/** The verification key of a published JWK (only its public members are used). */
export function importPublicKey(publicJwk: JWK): Promise<CryptoKey | KeyObject | Uint8Array> {
  return importJWK({ kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x }, LOG_ALG);
}

/** The payload text of an entry; throws when the signature does not verify or the type is not `typ`. */
export async function openEntry(jws: string, typ: string, key: CryptoKey | KeyObject | Uint8Array): Promise<string> {
  const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: [LOG_ALG] });
  if (protectedHeader.typ !== typ) throw new Error(`typ is ${String(protectedHeader.typ)}`);
  return new TextDecoder().decode(payload);
}

/** The payload of a compact JWS without checking it: for a log's own entries, read back from its own database. */
export function entryPayload(jws: string): string {
  const part = jws.split('.')[1] ?? '';
  return Buffer.from(part, 'base64url').toString('utf8');
}

/** The key as published: public members only, marked for signatures. */
export function publishedKey(publicJwk: JWK): JWK {
  return { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, kid: publicJwk.kid, alg: LOG_ALG, use: 'sig' };
}

/**
 * Run `decide`, a synchronous check that asks `lookup` for values kept in the metadata (a
 * signature check asking for a secret, grant headers asking whether a user exists), with
 * values that are read asynchronously: the keys `decide` asked for and were not read yet are
 * read, and `decide` runs again from the start knowing them. The checks keep their order of
 * errors (a malformed header is still refused before its key is looked up), and a check that
 * needs no lookup runs once.
 *
 * Without `provisional`, a lookup of a value not read yet ends the run at once. With it, the
 * run goes on as if the value were `provisional` (so a document naming many users is read
 * again once, not once per user), and its outcome is dropped.
 *
 * `known`: values the caller read beforehand, so that a run asking for them needs no second.
 */
export async function decideWithLookups<K, V, T>(
  load: (key: K) => Promise<V>, decide: (lookup: (key: K) => V) => T, provisional?: { value: V }, known = new Map<K, V>(),
): Promise<T> {
  for (;;) {
    const missed = new Set<K>();
    const lookup = (key: K): V => {
      if (known.has(key)) return known.get(key) as V;
      missed.add(key);
      if (provisional) return provisional.value;
      throw MISSED;
    };
    let result: T;
    try {
      result = decide(lookup);
    } catch (err) {
      if (missed.size === 0) throw err;
    }
    // A miss counts even if `decide` caught what the lookup threw.
    if (missed.size === 0) return result!;
    for (const key of missed) known.set(key, await load(key));
  }
}

const MISSED = new Error('a value not read yet (decideWithLookups)');

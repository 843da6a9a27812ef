/**
 * `store` with `then` called after each call of one of its `writers` settles: how PgMetaStore
 * hears of writes that a concern store makes to a table it caches (the nodes registry).
 */
export function afterWrites<T extends object>(store: T, writers: ReadonlyArray<keyof T & string>, then: () => void): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(name);
      if (!fn) {
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        fn = writers.includes(name as keyof T & string)
          ? async (...args: unknown[]) => {
            try {
              return await bound(...args);
            } finally {
              then();
            }
          }
          : bound;
        wrapped.set(name, fn);
      }
      return fn;
    },
  });
}

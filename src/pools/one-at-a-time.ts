/**
 * Per-name serialisation: `oneAtATime(name, fn)` runs `fn` after every earlier call for `name`
 * in this process has ended (resolved or not). Each call of `perName()` is its own queue.
 */
export function perName(): <T>(name: string, fn: () => Promise<T>) => Promise<T> {
  const busy = new Map<string, Promise<unknown>>();
  return async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const run = (busy.get(name) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    busy.set(name, tail);
    try {
      return await run;
    } finally {
      if (busy.get(name) === tail) busy.delete(name);
    }
  };
}

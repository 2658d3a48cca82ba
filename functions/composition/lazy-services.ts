// Services composed on their first call. The api serves route groups that most
// requests never touch (PKI, ACME, dynamic secrets, data-key rotation): their
// domain code, adapters and libraries load with the first call that needs them,
// as a chunk of their own, not with every cold start.
import { lazyModule } from '../domain/lazy-module.js';

/** Every member a function returning a Promise, or an object of such members: what can be called before it exists. */
export type AsyncOnly<T> = {
  readonly [K in keyof T]: T[K] extends (...args: never[]) => infer R
    ? R extends Promise<unknown>
      ? T[K]
      : never
    : T[K] extends object
      ? AsyncOnly<T[K]>
      : never;
};

type Member = (...args: unknown[]) => Promise<unknown>;

/**
 * A stand-in for the services `load` composes: `lazy.issuer.issue(...)` loads them once
 * (again after a failed load), then calls the real method on its real owner.
 */
export const lazyServices = <T extends AsyncOnly<T>>(load: () => Promise<T>): T => {
  const loaded = lazyModule(load);
  const at = (path: readonly PropertyKey[]): unknown =>
    new Proxy(() => undefined, {
      // Not a thenable: `await` on a member must not mistake it for a promise.
      get: (_target, key) => (key === 'then' ? undefined : at([...path, key])),
      apply: async (_target, _this, args: unknown[]) => {
        let owner = (await loaded()) as unknown as Record<PropertyKey, unknown>;
        for (const key of path.slice(0, -1)) owner = owner[key] as Record<PropertyKey, unknown>;
        return (owner[path[path.length - 1] as PropertyKey] as Member).apply(owner, args);
      },
    });
  return at([]) as T;
};

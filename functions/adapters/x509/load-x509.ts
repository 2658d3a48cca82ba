// @peculiar/x509, loaded on first use only. It resolves its services through
// tsyringe, which refuses to load without the Reflect metadata API (the
// `reflect-metadata` package is not installed here): the few calls TypeScript's
// decorator metadata and tsyringe make are provided below, on a WeakMap, and only
// where no other polyfill has set them.
import { webcrypto } from 'node:crypto';

type Metadata = Map<unknown, unknown>;
const store = new WeakMap<object, Map<PropertyKey | undefined, Metadata>>();

const metadataOf = (target: object, property: PropertyKey | undefined, create: boolean): Metadata | undefined => {
  let byProperty = store.get(target);
  if (!byProperty && create) store.set(target, (byProperty = new Map()));
  let entries = byProperty?.get(property);
  if (!entries && create) byProperty?.set(property, (entries = new Map()));
  return entries;
};

const ownMetadata = (key: unknown, target: object, property?: PropertyKey): unknown => metadataOf(target, property, false)?.get(key);

const inheritedMetadata = (key: unknown, target: object, property?: PropertyKey): unknown => {
  for (let current: object | null = target; current; current = Object.getPrototypeOf(current)) {
    const value = ownMetadata(key, current, property);
    if (value !== undefined) return value;
  }
  return undefined;
};

const installReflectMetadata = (): void => {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === 'function') return;
  Object.assign(reflect, {
    defineMetadata: (key: unknown, value: unknown, target: object, property?: PropertyKey) => void metadataOf(target, property, true)?.set(key, value),
    getOwnMetadata: ownMetadata,
    getMetadata: inheritedMetadata,
    hasOwnMetadata: (key: unknown, target: object, property?: PropertyKey) => ownMetadata(key, target, property) !== undefined,
    hasMetadata: (key: unknown, target: object, property?: PropertyKey) => inheritedMetadata(key, target, property) !== undefined,
    metadata: (key: unknown, value: unknown) => (target: object, property?: PropertyKey) => void metadataOf(target, property, true)?.set(key, value),
  });
};

export type X509 = typeof import('@peculiar/x509');

let loading: Promise<X509> | undefined;

/** The library, with Node's WebCrypto as its provider. */
export const loadX509 = (): Promise<X509> =>
  (loading ??= (async () => {
    installReflectMetadata();
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as never);
    return x509;
  })());

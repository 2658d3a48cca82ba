// The three Reflect metadata functions tsyringe (inside @peculiar/x509) calls,
// installed only when no polyfill is: the `reflect-metadata` package is the
// proper one (see the PKI report); this keeps x509 loadable without it.
type MetadataTarget = object;

const store = new WeakMap<MetadataTarget, Map<string | symbol | undefined, Map<unknown, unknown>>>();

const own = (target: MetadataTarget, property: string | symbol | undefined, create: boolean): Map<unknown, unknown> | undefined => {
  let byProperty = store.get(target);
  if (!byProperty && create) store.set(target, (byProperty = new Map()));
  let entries = byProperty?.get(property);
  if (!entries && create && byProperty) byProperty.set(property, (entries = new Map()));
  return entries;
};

export const installReflectMetadata = (): void => {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === 'function') return;
  const getOwnMetadata = (key: unknown, target: MetadataTarget, property?: string | symbol) => own(target, property, false)?.get(key);
  reflect.getOwnMetadata = getOwnMetadata;
  reflect.defineMetadata = (key: unknown, value: unknown, target: MetadataTarget, property?: string | symbol) =>
    void own(target, property, true)?.set(key, value);
  reflect.getMetadata = (key: unknown, target: MetadataTarget, property?: string | symbol): unknown => {
    for (let current: MetadataTarget | null = target; current; current = Object.getPrototypeOf(current) as MetadataTarget | null) {
      const value = getOwnMetadata(key, current, property);
      if (value !== undefined) return value;
    }
    return undefined;
  };
};

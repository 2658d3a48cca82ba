// A module loaded on first use and kept: what keeps rarely used libraries (AWS
// SDK clients, pg, @peculiar/x509, whole route groups) out of a cold start.

/** Loads on the first call and keeps the result; a failed load is tried again next time. */
export const lazyModule = <M>(load: () => Promise<M>): (() => Promise<M>) => {
  let loaded: Promise<M> | undefined;
  return () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
};

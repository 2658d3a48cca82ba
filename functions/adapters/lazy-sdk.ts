// AWS SDK clients a function rarely needs load on first use, not at every cold
// start: each SDK module costs about 10 ms of init (S3 about 40 ms).
import { lazyModule } from '../domain/lazy-module.js';

// biome-ignore lint/suspicious/noExplicitAny: the SDK's send is overloaded; the wrapper forwards whatever it takes.
type AnySend = (...args: any[]) => Promise<unknown>;

/** A client made, its SDK loaded, on the first call sent through it. */
export const lazyClient = <C extends { send: AnySend }>(make: () => Promise<C>): Pick<C, 'send'> => {
  const client = lazyModule(make);
  const send = async (...args: Parameters<C['send']>) => (await client()).send(...args);
  return { send: send as C['send'] };
};

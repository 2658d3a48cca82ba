import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogFields } from './logger.js';

// Fields every log line inside a unit of work carries (a request's request_id;
// a job's job_id and the request_id of the call that queued it), so one id
// follows a call across components without threading it through every call.
const storage = new AsyncLocalStorage<LogFields>();

/** Runs `work` with `fields` added to every log line it writes (inner fields win). */
export const withLogContext = <T>(fields: LogFields, work: () => T): T => storage.run({ ...storage.getStore(), ...fields }, work);

/** The fields of the unit of work running now; empty outside one. */
export const logContext = (): LogFields => storage.getStore() ?? {};

import { expect } from 'vitest';

// The OpenTelemetry collector config shape both ADOT configs share, and the
// checks the collector itself makes before it starts (no collector binary here).

type Section = Record<string, unknown>;

export interface Pipeline {
  receivers?: string[];
  processors?: string[];
  exporters?: string[];
}

export interface CollectorConfig {
  extensions?: Section;
  receivers?: Section;
  processors?: Section;
  exporters?: Section;
  service: { extensions?: string[]; pipelines: Record<string, Pipeline> };
}

const KINDS = ['receivers', 'processors', 'exporters'] as const;

/**
 * Every pipeline has receivers and exporters and names only configured
 * components; every configured component is used (the collector validates
 * unused ones too); service extensions exist; authenticators are enabled.
 */
export const expectPipelinesWired = (config: CollectorConfig): void => {
  const used = { receivers: new Set<string>(), processors: new Set<string>(), exporters: new Set<string>() };
  for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
    expect(pipeline.receivers?.length, `${name} receivers`).toBeGreaterThan(0);
    expect(pipeline.exporters?.length, `${name} exporters`).toBeGreaterThan(0);
    for (const kind of KINDS) {
      for (const id of pipeline[kind] ?? []) {
        expect(Object.keys(config[kind] ?? {}), `pipeline ${name} uses ${kind} ${id}`).toContain(id);
        used[kind].add(id);
      }
    }
  }
  for (const kind of KINDS) expect([...used[kind]].sort(), kind).toEqual(Object.keys(config[kind] ?? {}).sort());

  const extensions = Object.keys(config.extensions ?? {});
  for (const id of config.service.extensions ?? []) expect(extensions, `service extension ${id}`).toContain(id);
  for (const [id, exporter] of Object.entries(config.exporters ?? {})) {
    const authenticator = (exporter as { auth?: { authenticator?: string } } | null)?.auth?.authenticator;
    if (authenticator) expect(config.service.extensions, `${id} authenticator`).toContain(authenticator);
  }
};

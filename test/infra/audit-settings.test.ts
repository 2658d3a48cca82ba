import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/config.js';
import { auditSettingsEnvironment, auditSettingsFromContext } from '../../lib/audit-settings.js';
import { VaultFunction } from '../../lib/vault-function.js';
import { ENV, handlerBundleDir } from './support/synth.js';

// Syslog settings and sensitive paths from `cdk -c scaivault:...` to the functions'
// environment, read back by the functions' own config loader.

describe('audit settings from CDK context', () => {
  let dir: string;
  let bundleDir: string;
  let caPem: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scaivault-ca-'));
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=relay-ca',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'ca.pem'),
      ],
      { encoding: 'utf8' },
    );
    expect(made.status, made.stderr).toBe(0);
    caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
    bundleDir = await handlerBundleDir('worker', 'export const handler = async () => undefined;');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(bundleDir, { recursive: true, force: true });
  });

  const contextOf = (values: Record<string, string>) => (key: string) => values[key];

  it('bundles the relay, facility, hostname, app name, buffer, CA and sensitive paths into every function, as its config reads them', () => {
    const settings = auditSettingsFromContext(
      contextOf({
        syslogUrl: 'tls://siem.example.com:6514',
        syslogFacility: 'local4',
        syslogHostname: 'vault-prod',
        syslogAppName: 'scaivault-prod',
        syslogBufferSize: '2000',
        syslogCaFile: join(dir, 'ca.pem'),
        auditSensitivePaths: 'prod/**, payments/*/keys',
      }),
    );
    const stack = new Stack(new App(), 'S', { env: ENV });
    const table = new dynamodb.TableV2(stack, 'Audit', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const key = new kms.Key(stack, 'Key');
    new VaultFunction(stack, 'Worker', { name: 'worker', bundleDir }).bindAuditTrail({
      table,
      key,
      syslogUrl: settings.syslog?.url,
      environment: auditSettingsEnvironment(settings),
    });
    const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    const variables = fn!.Properties.Environment.Variables as Record<string, unknown>;
    expect(variables).toMatchObject({
      SCAIVAULT_SYSLOG_URL: 'tls://siem.example.com:6514',
      SCAIVAULT_SYSLOG_FACILITY: '20',
      SCAIVAULT_SYSLOG_HOSTNAME: 'vault-prod',
      SCAIVAULT_SYSLOG_APP_NAME: 'scaivault-prod',
      SCAIVAULT_SYSLOG_BUFFER_SIZE: '2000',
      SCAIVAULT_SYSLOG_CA_PEM: caPem,
      SCAIVAULT_AUDIT_SENSITIVE_PATHS: 'prod/**,payments/*/keys',
    });
    const strings = Object.fromEntries(Object.entries(variables).filter(([, value]) => typeof value === 'string')) as Record<string, string>;
    const audit = loadConfig({
      ...strings,
      SCAIVAULT_STATE_TABLE: 't',
      SCAIVAULT_METRICS_TABLE: 'm',
      SCAIVAULT_AUDIT_TABLE: 'a',
      SCAIVAULT_KEY_PROVIDER: 'local',
      SCAIVAULT_LOCAL_KEY_FILE: '/tmp/k',
    }).audit;
    expect(audit).toMatchObject({
      syslogFacility: 20,
      syslogHostname: 'vault-prod',
      syslogAppName: 'scaivault-prod',
      syslogBufferSize: 2000,
      syslogCaPem: caPem,
    });
    expect(audit.sensitivePaths).toEqual(['prod/**', 'payments/*/keys']);
  });

  it('fails the synth on a setting the functions would refuse', () => {
    expect(() => auditSettingsEnvironment({ syslog: { url: 'tls://siem:6514', facility: 'local9' } })).toThrow(/facility/);
    expect(() => auditSettingsEnvironment({ syslog: { url: 'tcp://siem:601', caPem } })).toThrow(/tls:\/\/ relays only/);
    expect(() => auditSettingsEnvironment({ syslog: { url: 'http://siem' } })).toThrow(/scheme/);
    expect(() => auditSettingsEnvironment({ syslog: { url: 'udp://siem', bufferSize: 0 } })).toThrow(/buffer/);
    expect(() => auditSettingsEnvironment({ sensitivePaths: ['prod/../x'] })).toThrow(/not a valid path glob/);
    expect(auditSettingsEnvironment({})).toEqual({});
  });
});

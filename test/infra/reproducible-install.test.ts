import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('reproducible install', () => {
  // A copy of the manifest and lock file alone: what a clean clone hands `npm ci`.
  const dir = mkdtempSync(join(tmpdir(), 'scaivault-npm-ci-'));
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  copyFileSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('npm ci accepts the lock file and prints no engine or install-script warnings', () => {
    const run = spawnSync('npm', ['ci', '--dry-run', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(output).not.toMatch(/can only install packages when your package\.json and package-lock\.json .* are in sync/);
    expect(run.status, output).toBe(0);
    expect(output.split('\n').filter((line) => /^npm warn/.test(line))).toEqual([]);
  });
});

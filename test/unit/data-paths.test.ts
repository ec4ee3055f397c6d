// Path confinement (`..`, absolute paths, symlinks leading out), folders, and the file-size limit.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { isInside, loadDataset, resolveDataFile, DataError } from '../../src/engine/data';
import type { CsvDataConfig } from '../../src/config/types';

describe('data: paths and limits', () => {
  let base: string;
  let workspace: string;
  let outside: string;
  before(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-paths-'));
    workspace = path.join(base, 'ws');
    outside = path.join(base, 'outside');
    fs.mkdirSync(path.join(workspace, 'configs'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(workspace, 'data.csv'), 'text,label\na,x\nb,y\n');
    fs.writeFileSync(path.join(outside, 'secret.csv'), 'text,label\nsecret,x\nother,y\n');
  });
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  const ctx = (extra: object = {}) => ({ configDir: path.join(workspace, 'configs'), workspaceRoot: workspace, seed: 1, ...extra });
  const loadCsv = (p: string, extra: object = {}) =>
    loadDataset({ source: 'csv', path: p, textColumn: 'text', labelColumn: 'label' } as CsvDataConfig, ctx(extra));

  async function rejects(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<DataError> {
    const err = await promise.then(() => undefined, e => e);
    assert.ok(err instanceof DataError, `expected a DataError, got ${err}`);
    assert.deepStrictEqual(err.jsonPath, ['data', 'path']);
    for (const p of patterns) assert.match(err.message, p);
    return err;
  }

  it('compares whole path segments', () => {
    assert.ok(isInside('/ws', '/ws/a/b'));
    assert.ok(isInside('/ws', '/ws'));
    assert.ok(!isInside('/ws', '/ws-other/a'));
    assert.ok(!isInside('/ws', '/'));
    assert.ok(isInside('/ws', '/ws/..data/file'), 'a name starting with two dots is still inside');
  });

  it('resolves paths relative to the config folder', async () => {
    const file = await resolveDataFile('../data.csv', ['data', 'path'], ctx());
    assert.strictEqual(file.display, 'data.csv');
    assert.strictEqual(file.absolute, fs.realpathSync(path.join(workspace, 'data.csv')));
  });

  it('refuses `..` leading out of the workspace, before touching the file', async () => {
    await rejects(loadCsv('../../outside/secret.csv'), /points outside the workspace/, /copy the file into the workspace/);
  });

  it('refuses an absolute path outside the workspace', async () => {
    await rejects(loadCsv(path.join(outside, 'secret.csv')), /points outside the workspace/);
  });

  it('refuses a symlink inside the workspace that points outside', async function () {
    try {
      fs.symlinkSync(path.join(outside, 'secret.csv'), path.join(workspace, 'link.csv'));
      fs.symlinkSync(outside, path.join(workspace, 'linked-dir'));
    } catch (err) {
      // Windows without developer mode cannot create symlinks.
      console.log(`      (skipped: cannot create symlinks here: ${(err as Error).message})`);
      this.skip();
    }
    await rejects(loadCsv('../link.csv'), /leads through a symbolic link to .*secret\.csv, outside the workspace/);
    await rejects(loadCsv('../linked-dir/secret.csv'), /symbolic link/);
  });

  it('accepts a symlink that stays inside the workspace', async function () {
    try {
      fs.symlinkSync(path.join(workspace, 'data.csv'), path.join(workspace, 'alias.csv'));
    } catch {
      this.skip();
    }
    const d = await loadCsv('../alias.csv', {});
    assert.strictEqual(d.train.count + d.validation.count, 2);
  });

  it('a missing file says where it looked and lists what is there', async () => {
    const err = await rejects(loadCsv('../dta.csv'), /data\.path '\.\.\/dta\.csv' not found in the workspace/,
      new RegExp(`looked in ${path.join(workspace, 'dta.csv').replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}`), /Files there: .*data\.csv/);
    assert.strictEqual(err.file, 'dta.csv');
    await rejects(loadCsv('nowhere/x.csv'), /folder 'configs\/nowhere' does not exist/);
  });

  it('a folder is not a file', async () => {
    await rejects(loadCsv('.'), /is a folder/);
  });

  it('refuses a 600 MB file at once, without reading it', async () => {
    const big = path.join(workspace, 'huge.csv');
    const fd = fs.openSync(big, 'w');
    fs.closeSync(fd);
    fs.truncateSync(big, 600 * 1024 * 1024); // sparse: no disk space used
    const started = Date.now();
    const err = await rejects(loadCsv('../huge.csv'), /huge\.csv is 600\.0 MB, over the 512\.0 MB limit/, /sample/);
    assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
    assert.strictEqual(err.file, 'huge.csv');
    fs.unlinkSync(big);
  });

  it('honours a smaller limit from the context', async () => {
    await rejects(loadCsv('../data.csv', { maxFileBytes: 10 }), /over the 10 B limit/);
  });

  it('refuses a named pipe instead of blocking on it', async function () {
    if (process.platform === 'win32') this.skip();
    const fifo = path.join(workspace, 'pipe.csv');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      this.skip();
    }
    await rejects(loadCsv('../pipe.csv'), /not a regular file/);
  });
});

// Fails on purpose: only run by the harness self-test, which expects exactly one pass and one failure.
import * as assert from 'assert';
import * as vscode from 'vscode';

suite('Harness self-test', () => {
  test('passes: the vscode API is there', () => {
    assert.ok(vscode.version);
  });

  test('fails on purpose', () => {
    assert.strictEqual(1 + 1, 3, 'deliberate failure');
  });
});

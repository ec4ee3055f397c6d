// Harness self-test entry (node test/harness/run-integration.js --self-test): a suite that must fail, to prove
// a failing test turns into a failing exit code and a JSON report whichever VS Code runs it.
import { runSuitesIn } from '../integration/index';

export function run(): Promise<void> {
  return runSuitesIn(__dirname);
}

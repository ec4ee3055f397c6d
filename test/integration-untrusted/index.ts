// Mocha entry for the suites that run with the fixture workspace untrusted (run-integration.js --untrusted).
import { runSuitesIn } from '../integration/index';

export function run(): Promise<void> {
  return runSuitesIn(__dirname);
}

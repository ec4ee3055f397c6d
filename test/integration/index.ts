// Mocha entry the VS Code extension host calls (--extensionTestsPath): runs every *.test.js compiled next to
// this file, in whichever VS Code test/harness/run-integration.js started (desktop via @vscode/test-electron,
// or code-server's Node extension host).
// Env: GRADMON_TEST_REPORT=<file>  also write Mocha's JSON report there
//      GRADMON_TEST_GREP=<regexp>  run only the tests whose full title matches
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

// Generous: tests here start training runs and wait for the UI of a real VS Code on a 2-core CI machine.
const TEST_TIMEOUT_MS = 60_000;

function testFilesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter(f => f.endsWith('.test.js'))
    .sort()
    .map(f => path.join(dir, f));
}

// The spec reporter on the console and, when a file is given, Mocha's JSON reporter into it.
function reporterWithJsonFile(reportFile: string | undefined): typeof Mocha.reporters.Base {
  if (!reportFile) return Mocha.reporters.Spec;
  return class SpecAndJson extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
      super(runner, options);
      new Mocha.reporters.JSON(runner, { ...options, reporterOption: { output: reportFile } } as Mocha.MochaOptions);
    }
  };
}

// Runs the suites in `dir`; rejects when a test fails, which makes the extension host exit with code 1.
export function runSuitesIn(dir: string): Promise<void> {
  const reportFile = process.env.GRADMON_TEST_REPORT ? path.resolve(process.env.GRADMON_TEST_REPORT) : undefined;
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: TEST_TIMEOUT_MS, reporter: reporterWithJsonFile(reportFile) });
  if (process.env.GRADMON_TEST_GREP) mocha.grep(new RegExp(process.env.GRADMON_TEST_GREP));
  const files = testFilesUnder(dir);
  if (files.length === 0) return Promise.reject(new Error(`no *.test.js files under ${dir}: was the project built (node scripts/build.js)?`));
  for (const f of files) mocha.addFile(f);
  return new Promise((resolve, reject) => {
    try {
      mocha.run(failures => {
        if (reportFile) console.log(`[integration] JSON report: ${reportFile}`);
        if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
        else resolve();
      });
    } catch (e) {
      reject(e); // a test file that throws while loading
    }
  });
}

export function run(): Promise<void> {
  return runSuitesIn(__dirname);
}
